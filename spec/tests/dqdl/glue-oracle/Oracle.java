import com.amazonaws.glue.ml.dataquality.dqdl.parser.DQDLParser;
import com.amazonaws.glue.ml.dataquality.dqdl.model.DQRuleset;
import java.nio.file.*;
import java.util.*;

// Reads case files (blocks starting "### name") and prints one line per case:
// name \t ACCEPT|REJECT \t message-or-canonical
public class Oracle {
    public static void main(String[] args) throws Exception {
        for (String file : args) {
            List<String> lines = Files.readAllLines(Paths.get(file));
            String name = null; List<String> body = new ArrayList<>();
            List<String[]> cases = new ArrayList<>();
            for (String l : lines) {
                if (l.startsWith("### ")) { if (name != null) cases.add(new String[]{name, String.join("\n", body)}); name = l.substring(4); body = new ArrayList<>(); }
                else if (l.startsWith(">>> ")) { }
                else body.add(l);
            }
            if (name != null) cases.add(new String[]{name, String.join("\n", body)});
            for (String[] c : cases) {
                String out;
                try {
                    DQRuleset r = new DQDLParser().parse(c[1]);
                    out = "ACCEPT\t" + r.getRules().size() + " rules " + r.getAnalyzers().size() + " analyzers: " + r.getRules().toString().replace("\n"," ");
                } catch (Throwable t) {
                    out = "REJECT\t" + t.getClass().getSimpleName() + ": " + String.valueOf(t.getMessage()).replace("\n", " ");
                }
                System.out.println(c[0] + "\t" + out);
            }
        }
    }
}
