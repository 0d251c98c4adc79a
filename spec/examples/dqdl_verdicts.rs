//! Prints one verdict per case of DQDL `.cases` files (`### name` blocks, `>>> ` lines skipped):
//! `name<TAB>ACCEPT`, `name<TAB>REJECT<TAB>message`, or `REJECT-TRAILING` for input after the
//! last section (which Glue ignores). Used to compare this parser with Glue's reference parser
//! on generated inputs: see `tests/dqdl/README.md`.

use gluepipe_spec::dqdl::parse;

fn main() -> std::io::Result<()> {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)?;
        for block in text.split("\n### ").skip(1) {
            let (name, body) = block.split_once('\n').unwrap_or((block, ""));
            let body: Vec<&str> = body
                .split('\n')
                .filter(|l| !l.starts_with(">>> "))
                .collect();
            match parse(&body.join("\n")) {
                Ok(_) => println!("{name}\tACCEPT"),
                Err(e) if e.message.contains("after the last section") => {
                    println!("{name}\tREJECT-TRAILING\t{}", e.message)
                }
                Err(e) => println!("{name}\tREJECT\t{}:{}: {}", e.line, e.column, e.message),
            }
        }
    }
    Ok(())
}
