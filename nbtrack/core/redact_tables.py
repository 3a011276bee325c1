"""Tables whose columns have secret names: the cells under them are masked.

A DataFrame (or any table) shows a secret as a cell under a column such as ``password`` or
``api_token``, with no ``=`` or ``:`` that would give it away. Three layouts are recognised:

* HTML tables (``DataFrame._repr_html_``, ``to_html``, Styler): the header rows' ``<th>`` texts
  name the columns; the body cells in secret columns are masked.
* Text tables (``print(df)``, ``df.to_string()``): a header line of names separated by two or more
  spaces, then rows whose cells end where their column's name ends (pandas right-aligns both).
* Rows labelled by a name (a Series, ``df.T``): a line starting with a name, then cells, each
  after two or more spaces.

Whether a name is secret and whether a cell is worth masking is the caller's decision
(`MaskCell`, ``nbtrack.core.redact.Redactor``), which also remembers every masked value.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable

from nbtrack.core.secret_names import MASK, is_secret_name

MaskCell = Callable[[str, str], bool]  # (column name, cell text) -> mask it?

_TABLE = re.compile(r"(?is)<table\b.*?</table>")
_ROW = re.compile(r"(?is)<tr\b[^>]*>.*?</tr>")
_CELL = re.compile(r"(?is)(?P<open><t(?P<kind>[hd])\b[^>]*>)(?P<body>.*?)(?P<close></t(?P=kind)\s*>)")
_TAG = re.compile(r"<[^>]*>")
_NEWLINE = re.compile("\n")
_HEADER_NAME = re.compile(r"\S+(?: \S+)*")  # names split by two spaces or more
_LISTING = re.compile(r"(?P<head>[ \t]*(?P<name>[A-Za-z_][\w.-]*)[ \t]{2,})(?P<values>\S.*?)[ \t]*$")
_FIELD = re.compile(r"\S(?:\S| (?! ))*")  # a cell: words split by single spaces
_STEMS = ("pass", "pwd", "secret", "token", "key", "cred", "priv", "auth", "cookie", "signature", "sas", "dsn",
          "conn", "session")


def _has_stem(text: str) -> bool:
    lowered = text.lower()
    return any(stem in lowered for stem in _STEMS)


def _stem_lines(text: str) -> set[int]:
    """Numbers of the lines of `text` that hold a secret stem (found once, with str.find)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # some characters change length when lower-cased
        return {n for n, line in enumerate(text.split("\n")) if _has_stem(line)}
    starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
    found: set[int] = set()
    for stem in _STEMS:
        at = lowered.find(stem)
        while at >= 0:
            found.add(bisect.bisect_right(starts, at) - 1)
            at = lowered.find(stem, at + 1)
    return found


def mask_tables(text: str, mask_cell: MaskCell) -> str:
    """`text` with the cells of secret columns masked, in every layout above."""
    if not _has_stem(text):
        return text
    if "<t" in text and "</t" in text:
        text = _TABLE.sub(lambda m: _html_table(m[0], mask_cell), text)
    if "\n" in text:
        text = _text_tables(text, mask_cell)
    return text


def _cell_text(body: str) -> str:
    return html.unescape(_TAG.sub("", body)).strip()


def _html_table(table: str, mask_cell: MaskCell) -> str:
    secret: dict[int, str] = {}  # column index -> its name

    def row(match: re.Match[str]) -> str:
        cells = list(_CELL.finditer(match[0]))
        if cells and all(c["kind"] == "h" for c in cells):  # a header row
            for index, cell in enumerate(cells):
                name = _cell_text(cell["body"])
                if name and is_secret_name(name):
                    secret.setdefault(index, name)
            return match[0]
        if not secret:
            return match[0]
        out, done = [], 0
        for index, cell in enumerate(cells):
            column = secret.get(index)
            if column is None or cell["kind"] != "d" or not mask_cell(column, _cell_text(cell["body"])):
                continue
            out += [match[0][done:cell.start("body")], MASK]
            done = cell.end("body")
        return "".join(out) + match[0][done:] if out else match[0]

    return _ROW.sub(row, table)


def _text_tables(text: str, mask_cell: MaskCell) -> str:
    """Text tables and labelled rows, looked for only from the lines that hold a secret stem."""
    candidates = _stem_lines(text)
    if not candidates:
        return text
    lines = text.split("\n")
    for number in sorted(candidates):
        line = lines[number]
        listing = _LISTING.fullmatch(line)
        if listing is not None and is_secret_name(listing["name"]):
            lines[number] = _listing(listing, mask_cell)
            continue
        columns = _secret_columns(line)
        for row in range(number + 1, len(lines) if columns else number):
            following = lines[row]
            if not following.strip() or (following.lstrip().startswith("[") and following.rstrip().endswith("]")):
                break
            new = _masked_row(following, columns, mask_cell)
            if new is None:
                break
            lines[row] = new
    return "\n".join(lines)


def _secret_columns(line: str) -> list[tuple[int, int, str]]:
    """The secret columns a header line names: (left, right) around each name's text."""
    names = list(_HEADER_NAME.finditer(line))
    if not names or (len(names) == 1 and not line[:1].isspace()):
        return []  # a header has several names, or an indented one (the index column is blank)
    found, left = [], 0
    for match in names:
        if is_secret_name(match[0]):
            found.append((left, match.end(), match[0]))
        left = match.end()
    return found


def _masked_row(line: str, columns: list[tuple[int, int, str]], mask_cell: MaskCell) -> str | None:
    """The row with its secret cells masked; None when `line` is not a row of this table."""
    edits = []
    for left, right, name in columns:
        if right > len(line) or line[right - 1].isspace() or (right < len(line) and not line[right].isspace()):
            return None  # cells end exactly where their column's name ends
        value = re.split(r"\s{2,}", line[left:right].strip())[-1]
        if mask_cell(name, value):
            edits.append((right - len(value), right))
    for start, end in reversed(edits):
        line = line[:start] + MASK + line[end:]
    return line


def _listing(match: re.Match[str], mask_cell: MaskCell) -> str:
    """A row labelled by a secret name (a Series, a transposed DataFrame): every cell masked."""
    name = match["name"]
    if not is_secret_name(name):
        return match[0]
    values = _FIELD.sub(lambda cell: MASK if mask_cell(name, cell[0]) else cell[0], match["values"])
    return match["head"] + values + match[0][match.end("values") - match.start():]
