"""The line and stream engine: column mode, regex mode, X-Forwarded-For lists, fallback.

A line is *parsed* when every selected field (column or capture group) is an
address, a placeholder (``-``, ``unix:``, ``unknown``) or empty: then only those
fields (and, in column mode, the X-Forwarded-For list) change. Otherwise — a
column is missing, the regex does not match, a field holds other text — the
line is *unparsed*: the fields that are addresses are masked as usual and every
address-looking token elsewhere in the line is masked by the fallback scanner,
so a line passes unchanged only if it holds no address.

Speed: lines are bytes, read and written in blocks of about 128 KiB. A block takes
a fast path when it can (``column_block`` for column 1 and the X-Forwarded-For
lists, ``regex_block`` for regex mode; both mask the common address shapes in
bulk through ``batch``); the per-line path here is what they equal, and it serves
the rest (CRLF line ends, other columns, blocks the fast paths decline).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from tutela.logs.address import PLACEHOLDER, Kept, Masker
from tutela.logs.batch import CACHE_LIMIT, MASKED, SLOW, Batch, Tally, quad_branch
from tutela.logs.column_block import XFF_QUOTES, FirstColumn, splitter
from tutela.logs.errors import LogInputError
from tutela.logs.options import AnonymizeOptions, Counts, compile_regex
from tutela.logs.regex_block import RegexBlock
from tutela.logs.scanner import scan_mask
from tutela.logs.screening import problem, trailing_blanks
from tutela.logs.tiling import tile

CHUNK: Final = 1 << 20
"""Bytes read at a time from a compressed input."""
BLOCK: Final = 1 << 17
"""Bytes of lines anonymized at a time: big enough that the per-block work is spread over
about a thousand lines, small enough that the pieces of a block stay in the processor's
cache (1 MiB blocks were about 15 % slower)."""
_KEPT: Final[Tally] = (0, 1, 0)
_PASSED: Final[Tally] = (0, 0, 1)
_NONE: Final[Tally] = (0, 0, 0)

Span = tuple[int, int, bytes]
_Match = Callable[[bytes], "re.Match[bytes] | None"]


class Anonymizer:
    """Anonymizes lines with one set of options; keeps ``counts`` and a memo of fields."""

    def __init__(self, options: AnonymizeOptions | None = None) -> None:
        opts = self.options = options or AnonymizeOptions()
        self.counts = Counts()
        self._masker = Masker(
            opts.ipv4mask, opts.ipv6mask, increment=opts.increment, skip_private=opts.skip_private
        )
        self._cache: dict[bytes, bytes | int] = {}
        self._regex = compile_regex(opts.regexes) if opts.regexes else None
        self._columns = opts.column_indexes
        self._delim = opts.delimiter_bytes
        self._replace = None if opts.replace is None else opts.replace.encode("utf-8")
        self._xff = opts.reads_xff
        self._origin = 0
        self._source: str | None = None
        self._single = self._regex is not None and self._regex.groups == 1
        self._fast: FirstColumn | RegexBlock | None = None
        form = self._masker.quad_form
        plain6 = opts.ipv6mask if form is not None else None  # no increment, no skip
        if self._regex is not None:
            quad, octets = quad_branch(form) if form else (None, {})
            tiling = tile(self._regex.pattern, quad)
            if tiling is not None:
                batch = Batch(form, self._field_text, ipv6mask=plain6)
                self._fast = RegexBlock(tiling, batch, octets)
        elif self._columns == (0,) and splitter(self._delim):
            entries = Batch(form, self._entry_text, ipv6mask=plain6)
            self._fast = FirstColumn(
                self._delim,
                form,
                ipv6mask=plain6,
                compute=self._masker.token,
                slow=self._body,
                entries=entries if self._xff else None,
            )

    # -- public ---------------------------------------------------------------------------

    def line(self, line: bytes) -> bytes:
        """One line, with or without its line ending (kept as it is)."""
        ending = b""
        if line.endswith(b"\n"):
            line, ending = line[:-1], b"\n"
        self.counts.lines += 1
        if self.options.rstrip:
            return self._body(line.rstrip()) + ending
        return self._body(line) + ending

    def block(self, block: bytes) -> bytes:
        """Lines joined by ``\\n`` (no final newline): checked, then anonymized."""
        self._check(block)
        if self.options.rstrip and trailing_blanks(block):
            block = b"\n".join(map(bytes.rstrip, block.split(b"\n")))
        if b"\r" not in block:
            return self._fast_block(block)
        if block.endswith(b"\r") and block.count(b"\r\n") == block.count(b"\n"):
            bare = block.replace(b"\r\n", b"\n")[:-1]
            if b"\r" not in bare:  # each line ends in one CR: as _body, without it, then CR
                return self._fast_block(bare).replace(b"\n", b"\r\n") + b"\r"
        rows = block.split(b"\n")
        self.counts.lines += len(rows)
        crlf = [row.endswith(b"\r") for row in rows]
        done = self._lines([row[:-1] if cr else row for row, cr in zip(rows, crlf, strict=True)])
        return b"\n".join([t + b"\r" if cr else t for t, cr in zip(done, crlf, strict=True)])

    def _fast_block(self, block: bytes) -> bytes:
        """A block without CR: the fast path if it serves it, else line by line."""
        if self._fast is not None:
            done = self._fast.block(block)
            if done is not None:
                text, lines, (masked, kept, passed) = done
                counts = self.counts
                counts.lines += lines
                counts.addresses += masked
                counts.private += kept
                counts.passed += passed
                return text
        rows = block.split(b"\n")
        self.counts.lines += len(rows)
        return b"\n".join(self._lines(rows))

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        if self._regex is not None:
            return self._regex_block(lines, self._regex.match)
        return list(map(self._body, lines))

    def begin(self, source: str | None) -> None:
        """Start a new input: error messages count lines from here and name ``source``."""
        self._origin = self.counts.lines
        self._source = source

    def _field_text(self, field: bytes) -> tuple[bytes, Tally]:
        """A regex field for ``Batch``: its text and tally, or ``SLOW`` (not an address)."""
        result = self._masker.token(field)
        if isinstance(result, Kept):
            return result, _KEPT
        if isinstance(result, bytes):
            return result, MASKED
        if result == PLACEHOLDER:
            return field, _PASSED
        return SLOW, _NONE

    def _entry_text(self, entry: bytes) -> tuple[bytes, Tally]:
        """An X-Forwarded-For entry for ``Batch``: its text and tally."""
        text, masked, kept, passed = self._list_entry(entry)
        return text, (masked, kept, passed)

    def token(self, token: bytes) -> bytes | int:
        """The memoized ``Masker.token`` result for one field."""
        result = self._cache.get(token)
        if result is None:
            result = self._masker.token(token)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = result
        return result

    def error(self, detail: str, index: int = 0) -> LogInputError:
        """A ``LogInputError`` at line ``index`` (0-based) past the lines counted so far."""
        number = self.counts.lines - self._origin + index + 1
        return LogInputError(detail, line=number, source=self._source)

    # -- fast loops -----------------------------------------------------------------------

    def _regex_block(self, lines: list[bytes], match: _Match) -> list[bytes]:
        cache = self._cache
        get = cache.get
        compute = self._masker.token
        body = self._body
        single = self._single
        out: list[bytes] = []
        append = out.append
        hits = 0
        for line in lines:
            found = match(line)
            if found is not None:
                if single and found.lastindex == 1:  # the one group: no list of pieces needed
                    start, end = found.span(1)
                    field = line[start:end]
                    result = get(field)
                    if result is None and start < end:
                        if len(cache) >= CACHE_LIMIT:
                            cache.clear()
                        result = cache[field] = compute(field)
                    if type(result) is bytes:
                        append(line[:start] + result + line[end:])
                        hits += 1
                        continue
                    if start == end:
                        append(line)
                        continue
                    append(body(line))
                    continue
                pieces: list[bytes] = []
                pos = count = 0
                for start, end in found.regs[1:]:
                    if start < 0 or start == end:
                        continue
                    field = line[start:end]
                    result = get(field)
                    if result is None:
                        if len(cache) >= CACHE_LIMIT:
                            cache.clear()
                        result = cache[field] = compute(field)
                    if type(result) is not bytes or start < pos:
                        break
                    pieces.append(line[pos:start])
                    pieces.append(result)
                    pos = end
                    count += 1
                else:
                    pieces.append(line[pos:])
                    append(b"".join(pieces))
                    hits += count
                    continue
            append(body(line))
        self.counts.addresses += hits
        return out

    # -- general path ---------------------------------------------------------------------

    def _body(self, line: bytes) -> bytes:
        if line.endswith(b"\r"):
            return self._body(line[:-1]) + b"\r"
        spans: list[Span] = []
        if self._regex is None:
            parsed = self._column_spans(line, spans)
            if parsed and self._xff:
                self._xff_spans(line, spans)
        else:
            parsed = self._group_spans(line, spans, self._regex.match)
        if parsed and not spans:
            return line
        if not parsed:
            self.counts.unparsed += 1
        return self._emit(line, spans, scan=not parsed)

    def _column_spans(self, line: bytes, spans: list[Span]) -> bool:
        delim, width = self._delim, len(self._delim)
        column = start = 0
        parsed = True
        for target in self._columns:
            while column < target:
                found = line.find(delim, start)
                if found < 0:
                    return False  # the column is missing
                start, column = found + width, column + 1
            end = line.find(delim, start)
            if end < 0:
                end = len(line)
            parsed = self._field(line, start, end, spans) and parsed
        return parsed

    def _group_spans(self, line: bytes, spans: list[Span], match: _Match) -> bool:
        found = match(line)
        if found is None:
            return False
        parsed = True
        pos = 0
        for start, end in sorted(found.regs[1:]):
            if start < pos or start == end:
                continue  # a group that did not take part, is empty, or overlaps another
            parsed = self._field(line, start, end, spans) and parsed
            pos = end
        return parsed

    def _field(self, line: bytes, start: int, end: int, spans: list[Span]) -> bool:
        """Handle one selected field; False when it holds something other than an address."""
        if start == end:
            return True
        result = self.token(line[start:end])
        if isinstance(result, bytes):
            spans.append((start, end, result))
            self._count(result)
            return True
        if result == PLACEHOLDER:
            self.counts.passed += 1
            return True
        text, masked, kept = scan_mask(line[start:end], self._masker)
        if masked or kept:
            spans.append((start, end, text))
            self.counts.addresses += masked
            self.counts.private += kept
        elif self._replace is not None:
            spans.append((start, end, self._replace))
            self.counts.replaced += 1
        else:
            self.counts.passed += 1
        return False

    def _xff_spans(self, line: bytes, spans: list[Span]) -> None:
        """The last quoted field of a line with at least four, read as an address list."""
        last = len(line) - 1
        if line[last:] != b'"' or line.endswith(b'"-"') or line.count(b'"') < XFF_QUOTES:
            return
        opening = line.rfind(b'"', 0, last)
        if spans and spans[-1][1] > opening:
            return
        spans.append((opening + 1, last, self._forwarded(line[opening + 1 : last])))

    def _forwarded(self, field: bytes) -> bytes:
        """An X-Forwarded-For list (``a, b, c``) with each entry masked (and counted)."""
        parts = field.split(b",")
        for index, part in enumerate(parts):
            parts[index], masked, kept, passed = self._list_entry(part)
            self.counts.addresses += masked
            self.counts.private += kept
            self.counts.passed += passed
        return b",".join(parts)

    def _list_entry(self, part: bytes) -> tuple[bytes, int, int, int]:
        """``(text, masked, kept, passed)`` for one list entry; blanks around it stay."""
        if b"," in part:
            texts, masked, kept, passed = [], 0, 0, 0
            for piece in part.split(b","):
                text, one, two, three = self._list_entry(piece)
                texts.append(text)
                masked, kept, passed = masked + one, kept + two, passed + three
            return b",".join(texts), masked, kept, passed
        entry = part.strip()
        if not entry:
            return part, 0, 0, 0
        result = self.token(entry)
        if isinstance(result, bytes):
            text, masked, kept = (
                result,
                int(not isinstance(result, Kept)),
                int(isinstance(result, Kept)),
            )
        elif result == PLACEHOLDER:
            return part, 0, 0, 1
        else:
            text, masked, kept = scan_mask(entry, self._masker)
            if not (masked or kept):
                return part, 0, 0, 1
        if len(entry) != len(part):
            text = part.replace(entry, text, 1)
        return text, masked, kept, 0

    def _count(self, result: bytes) -> None:
        if isinstance(result, Kept):
            self.counts.private += 1
        else:
            self.counts.addresses += 1

    def _emit(self, line: bytes, spans: list[Span], *, scan: bool) -> bytes:
        pieces: list[bytes] = []
        pos = 0
        for start, end, text in spans:
            pieces.append(self._scan(line[pos:start]) if scan else line[pos:start])
            pieces.append(text)
            pos = end
        pieces.append(self._scan(line[pos:]) if scan else line[pos:])
        return b"".join(pieces)

    def _scan(self, segment: bytes) -> bytes:
        text, masked, kept = scan_mask(segment, self._masker)
        self.counts.addresses += masked
        self.counts.private += kept
        return text

    # -- input checks ---------------------------------------------------------------------

    def _check(self, block: bytes) -> None:
        found = problem(block, self.options.max_line)
        if found is not None:
            raise self.error(*found)
