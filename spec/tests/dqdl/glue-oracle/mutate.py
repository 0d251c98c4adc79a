# Writes N generated DQDL cases (mutated corpus documents and token soup) for comparing this
# parser with Glue's: mutate.py SEED N accepted.cases out.cases
import random, re, sys
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
src = open(sys.argv[3]).read()
bodies = []
for block in src.split('\n### ')[1:]:
    lines = block.split('\n')[1:]
    bodies.append('\n'.join(l for l in lines if not l.startswith('>>> ')))
FR = ["Rules", "Analyzers", "Metadata", "DataSources", "DefaultLabels", "=", "[", "]", "(", ")",
    "{", "}", ":", ",", "RowCount", "Completeness", "ColumnValues", "IsComplete", "CustomSql",
    "FileSize", "DataFreshness", "FileFreshness", "IsUnique", "\"a\"", "\"Version\"", "\"\"",
    "\"2024-01-01\"", "\"9:30 AM\"", "\"21:45\"", "\"a\\\"b\"", ">", ">=", "<", "<=", "!", "!=",
    "0.5", "3", "-", "+", "*", "/", "and", "or", "AND", "of", "not", "in", "between", "matches",
    "where", "with", "threshold", "timeZone", "labels", "now()", "NOW", "days", "hours", "MB",
    "B", "NULL", "EMPTY", "$", "v", "last", "avg", "#c\n", "\n", "\t", " ", "'", "é", "\"", "\\",
    "x = \"a\"\n", "$col", "$states", "5 MB", "3 days", "(now() - 1 days)", "labels=[\"k\"=\"v\"]",
    "with threshold > 0.5", "where \"x > 1\"", "Null", "null", "1.5", "-2", "007", "2147483648"]
def mutate(s):
    for _ in range(random.randint(1, 3)):
        k = random.random(); n = len(s)
        a = random.randint(0, n)
        if k < 0.35:
            b = min(n, a + random.randint(1, 8)); s = s[:a] + s[b:]
        elif k < 0.75:
            s = s[:a] + random.choice(FR) + s[a:]
        elif k < 0.9:
            b = min(n, a + random.randint(1, 30)); s = s[:b] + s[a:b] + s[b:]
        else:
            b = min(n, a + random.randint(1, 8)); s = s[:a] + random.choice(FR) + s[b:]
    return s
out = ['# generated']
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 5000):
    if random.random() < 0.8:
        body = mutate(random.choice(bodies))
    else:
        body = 'Rules = [ ' + ' '.join(random.choice(FR) for _ in range(random.randint(1, 12))) + ' ]'
    body = '\n'.join(l for l in body.split('\n') if not l.startswith('### ') and not l.startswith('>>> '))
    out.append('### c%d\n%s' % (i, body))
open(sys.argv[4], 'w').write('\n'.join(out) + '\n')
