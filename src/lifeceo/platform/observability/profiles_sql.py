"""SQL fingerprints: a statement with its literals and parameters replaced by `?`, so that the
same query with other values, or an IN list of another length, is one fingerprint."""

import re
from functools import lru_cache

PLACEHOLDER = "?"
# Statements are a bounded set of compiled strings, so their fingerprints are remembered; the
# bound is for hand-built SQL with literals in it.
CACHE_MAX_STATEMENTS = 4096
# A bulk INSERT built by hand can be megabytes; its first 4 KB say what it is.
MAX_STATEMENT_CHARS = 4096
# Keywords after which a `-` starts a negative number rather than subtracting.
UNARY_AFTER = frozenset({
    "select", "where", "and", "or", "not", "then", "else", "when", "case", "in", "values", "by",
    "limit", "offset", "between", "returning", "on", "set", "is", "like", "ilike", "as", "any",
    "all", "return", "having",
})
# One token at a time, in this order: a number inside a name (`posts_1`) or a string inside a
# quoted identifier is never taken for a literal.
TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<identifier>"(?:[^"]|"")*")
  | (?P<string>[Ee]'(?:[^'\\]|\\.|'')*'|[BbXxNnUu]?&?'(?:[^']|'')*')
  | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$)
  | (?P<parameter>\$\d+|%\([^)]*\)s|%s|\?)
  | (?P<word>[A-Za-z_][\w$]*)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
# After the literals are placeholders: a list of nothing but placeholders (an IN list, a VALUES
# row, ARRAY[...]) becomes one with the first one's cast, and so do several VALUES rows.
LITERALS = frozenset({"number", "string", "dollar", "parameter"})
CAST = r"(?:::\w+(?:\[\])?)?"
LIST = re.compile(rf"\(\s*\?({CAST})(?:\s*,\s*\?{CAST})*\s*\)")
ARRAY = re.compile(rf"ARRAY\[\s*\?({CAST})(?:\s*,\s*\?{CAST})*\s*\]", re.IGNORECASE)
ROWS = re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+")


@lru_cache(maxsize=CACHE_MAX_STATEMENTS)
def fingerprint(statement: str) -> str:
    """The statement normalised: literals and parameters `?`, placeholder lists `(?)`, comments
    gone, whitespace one space; quoted identifiers and casts (`?::text`) kept."""
    tokens: list[str] = []
    for match in TOKEN.finditer(statement[:MAX_STATEMENT_CHARS]):
        kind, text = match.lastgroup, match.group()
        if kind == "space" or kind == "comment":
            if tokens and tokens[-1] != " ":
                tokens.append(" ")
            continue
        if kind == "number" and text.startswith("-"):
            tokens.append("-")
        if kind in LITERALS:
            _drop_unary_minus(tokens)
            text = PLACEHOLDER
        tokens.append(text)
    normalised = "".join(tokens).strip()
    normalised = ARRAY.sub(r"ARRAY[?\1]", LIST.sub(r"(?\1)", normalised))
    return ROWS.sub("(?)", normalised)


def _drop_unary_minus(tokens: list[str]) -> None:
    """A `-` just before a literal is its sign, unless it follows an operand (`x - 1`)."""
    at = len(tokens) - 1
    if at >= 0 and tokens[at] == " ":
        at -= 1
    if at < 0 or tokens[at] != "-":
        return
    before = at - 1
    if before >= 0 and tokens[before] == " ":
        before -= 1
    if before < 0 or not _operand(tokens[before]):
        del tokens[at:]


def _operand(token: str) -> bool:
    """Whether a `-` after `token` subtracts: a name, a literal, a closing bracket."""
    if token[0].isalpha() or token[0] == "_":
        return token.lower() not in UNARY_AFTER
    return token in (")", "]", PLACEHOLDER) or token[0] == '"'
