//! The registry docs describe every attribute the schemas declare.

use terraform_provider_gluepipe::framework::{Block, Provider};
use terraform_provider_gluepipe::protocol::ProviderServer;

fn doc(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/");
    std::fs::read_to_string(format!("{full}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn undocumented(block: &Block, text: &str) -> Vec<String> {
    block
        .attributes
        .iter()
        .map(|a| a.name.clone())
        .chain(block.blocks.iter().map(|b| b.name.clone()))
        .filter(|name| !text.contains(&format!("- `{name}` (")))
        .collect()
}

#[test]
fn provider_page_covers_the_provider_block() {
    let schema = terraform_provider_gluepipe::provider::GluepipeProvider.schema();
    assert_eq!(
        undocumented(&schema.block, &doc("index.md")),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn data_source_pages_cover_their_schemas() {
    let schemas = terraform_provider_gluepipe::registry()
        .get_provider_schema()
        .await;
    for (type_name, schema) in &schemas.data_sources {
        let page = format!(
            "data-sources/{}.md",
            type_name.trim_start_matches("gluepipe_")
        );
        let text = doc(&page);
        assert_eq!(
            undocumented(&schema.block, &text),
            Vec::<String>::new(),
            "{page}"
        );
        assert!(
            text.contains(&format!("# {type_name} (Data Source)")),
            "{page}"
        );
    }
}
