"""A user's regex rewritten so that its capture groups tile every match, for ``re.split``.

``re.split`` with a pattern that has groups returns, per match, the text before it
and the text of each group, and nothing else: the text a match covers outside
its groups is lost. This module rewrites ``(\\n)(?:REGEX)`` so that nothing is
lost: every maximal run of the pattern that holds no group becomes a group of its
own (a *filler*), and the groups are numbered again in the order they are
written. The matches are the same (a group only records where it matched), so
the split of a block gives, per line, the text before the match and pieces that
join back to the match: the user's groups, which are masked, and the fillers,
which are copied. ``re.split`` does that for all lines in C, with no match
objects and no Python per line.

A group that is a greedy run of one kind of character (``(\\S+)``, ``([^",]+)``) is
rewritten as ``(?:QUAD(?!C)|(C+))`` when every character of a dotted quad is one
of its kind ``C``: a strict dotted quad that makes up the whole run is then masked
by the split itself (its kept octets and next octet are groups, the next octet
goes through a table), and anything else is the user's group as before. The match
is the same: the run is tried at its full length first either way, and if what
follows fails, the second branch tries the same lengths in the same order.

A pattern is only rewritten when the pieces are sure to come out in text order:
no back-references or conditionals (the numbers change), no group inside
another group, inside a repetition of more than once, or inside a lookaround.
Anything else is declined (``None``) and the caller reads the lines one by one.
The rewrite uses the standard library's own parser and compiler (``re._parser``,
``re._compiler``); should those ever change shape, the rewrite is declined, too.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Final

_BEYOND_THE_LINE: Final = (b"(?=", b"(?!", b"(?<", b"\\A", b"\\Z", b"\\B")
"""Lookarounds and string anchors may see past the line; ``\\B`` never matches an empty line
on its own but does between two line breaks."""


_REPEATS: Final = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _opcodes(constants: Any, *names: str) -> set[Any]:
    """The parser's opcodes of these names that this Python has."""
    return {getattr(constants, name) for name in names if hasattr(constants, name)}


class _Declined(Exception):
    """The pattern has a shape that the tiling cannot keep in text order."""


@dataclass(frozen=True)
class Tiling:
    """The split pattern for blocks, and where the user's groups fall in its output.

    ``split`` applied to ``"\\n" + block`` returns ``1 + lines * width`` pieces when
    every line matches on its own: the text before the first match (empty), then per
    match ``width`` pieces. Per match, piece 0 is the text before the match (the
    rest of the previous line), piece 1 the ``"\\n"`` that starts it, and
    ``fields`` lists the pieces (1-based within the match, like groups) that are the
    user's groups; every other piece is filler. A piece is ``None`` when its group
    took no part in the match.
    """

    split: Any
    width: int
    fields: tuple[int, ...]
    octets: tuple[int, ...] = ()
    """The pieces holding the next octet of a quad taken by the split (a table masks them)."""
    within_line: bool = False
    """No piece of a match can hold a line break (other than the one that starts it), so a
    line without a match is one whose line break lands in the text between matches."""


def tile(pattern: bytes, quad: bytes | None = None) -> Tiling | None:
    """The tiling of ``pattern`` (the user's regex, alternatives joined), or ``None``.

    ``quad`` is a ``batch.quad_branch`` pattern (kept octets, next octet): groups that
    are runs of one kind of character take it as a first branch.
    """
    if any(token in pattern for token in _BEYOND_THE_LINE):
        return None  # a match could depend on the text past the line
    try:
        parser: Any = importlib.import_module("re._parser")
        compiler: Any = importlib.import_module("re._compiler")
        tree = parser.parse(b"(\\n)(?:" + pattern + b")", re.MULTILINE)
        shape = None if quad is None else parser.parse(quad).data
        rewrite = _Rewrite(parser, compiler, tree.state, shape)
        data = rewrite.sequence(list(tree.data))
        within = _WithinLine(parser, compiler, tree.state.flags)
        tree.data = data[:1] + within.items(data[1:])
        tree.state.groupwidths = [None] * (rewrite.count + 1)
        tree.state.groupdict = {}
        compiled = compiler.compile(tree, re.MULTILINE)
    except (
        _Declined,
        re.error,
        AttributeError,
        TypeError,
        ValueError,
        IndexError,
        RecursionError,  # a pattern nested hundreds deep: the walk gives up, the lines go alone
    ):
        return None
    if compiled.groups != rewrite.count or rewrite.fields[:1] != [1]:
        return None
    return Tiling(
        compiled.split,
        rewrite.count + 1,
        tuple(rewrite.fields[1:]),
        tuple(rewrite.octets),
        within.safe,
    )


class _Rewrite:
    """One walk over a parsed pattern: wraps the runs without groups, numbers all groups."""

    def __init__(self, parser: Any, compiler: Any, state: Any, quad: Any) -> None:
        self._parser = parser
        self._compiler = compiler
        self._state = state
        self._quad = quad
        constants: Any = importlib.import_module("re._constants")
        self._max_repeat = constants.MAX_REPEAT
        self._unbounded = constants.MAXREPEAT
        self._assert_not = constants.ASSERT_NOT
        self._one_character = _opcodes(constants, "IN", "LITERAL", "NOT_LITERAL", "ANY")
        self._subpattern = constants.SUBPATTERN
        self._branch = constants.BRANCH
        self._repeats = _opcodes(constants, *_REPEATS)
        self._atomic = getattr(constants, "ATOMIC_GROUP", None)
        self._forbidden = _opcodes(
            constants,
            "GROUPREF",
            "GROUPREF_EXISTS",
            "GROUPREF_IGNORE",
            "GROUPREF_LOC_IGNORE",
            "GROUPREF_UNI_IGNORE",
            "ASSERT",
            "ASSERT_NOT",
        )
        self.count = 0
        self.fields: list[int] = []  # the new numbers of the original groups, in order
        self.octets: list[int] = []  # the new numbers of the next octet of embedded quads

    def sequence(self, items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        """``items`` with each run that holds no group wrapped in a new group."""
        out: list[tuple[Any, Any]] = []
        run: list[tuple[Any, Any]] = []
        for op, av in items:
            if not self._has_group(op, av):
                run.append((op, av))
                continue
            self._flush(run, out)
            run = []
            out.append(self._item(op, av))
        self._flush(run, out)
        return out

    def _item(self, op: Any, av: Any) -> tuple[Any, Any]:
        """An item that holds a group, rewritten inside."""
        if op is self._subpattern:
            group, add_flags, del_flags, body = av
            if group is not None:
                if any(self._has_group(o, a) for o, a in body.data):
                    raise _Declined("a group inside a group")
                run = self._run_of_one_kind(body) if not (add_flags or del_flags) else None
                if run is not None:
                    return self._embed(op, body, run)
                self.count += 1
                self.fields.append(self.count)
                return op, (self.count, add_flags, del_flags, body)
            return op, (None, add_flags, del_flags, self._sub(body))
        if op is self._branch:
            first, alternatives = av
            return op, (first, [self._sub(alternative) for alternative in alternatives])
        if op in self._repeats:
            low, high, body = av
            if high > 1:
                raise _Declined("a group that may repeat keeps only its last text")
            return op, (low, high, self._sub(body))
        if op is self._atomic and self._atomic is not None:
            return op, self._sub(av)
        raise _Declined(f"a group inside {op}")

    def _run_of_one_kind(self, body: Any) -> Any:
        """The one-character item of a greedy unbounded run that takes every quad, or ``None``."""
        if self._quad is None or len(body.data) != 1:
            return None
        op, av = body.data[0]
        if op is not self._max_repeat:
            return None
        low, high, item = av
        if low > 1 or high != self._unbounded or len(item.data) != 1:
            return None
        if item.data[0][0] not in self._one_character:
            return None
        alone = self._parser.SubPattern(self._parser.State(), list(item.data))
        alone.state.flags = self._state.flags
        kind = self._compiler.compile(alone, re.MULTILINE)
        if not all(kind.fullmatch(bytes([byte])) for byte in b"0123456789."):
            return None
        return item

    def _embed(self, op: Any, body: Any, run: Any) -> tuple[Any, Any]:
        """``(?:QUAD(?!C)|(C+))``: the quad's two groups, then the user's group."""
        quad: list[tuple[Any, Any]] = []
        for item_op, item_av in self._quad:
            if item_op is self._subpattern:
                self.count += 1
                _, add_flags, del_flags, inner = item_av
                item_av = (self.count, add_flags, del_flags, inner)
            quad.append((item_op, item_av))
        self.octets.append(self.count)
        quad.append((self._assert_not, (1, run)))
        self.count += 1
        self.fields.append(self.count)
        user = [(op, (self.count, 0, 0, body))]
        branches = [self._parser.SubPattern(self._state, data) for data in (quad, user)]
        return self._branch, (None, branches)

    def _sub(self, body: Any) -> Any:
        return self._parser.SubPattern(self._state, self.sequence(list(body.data)))

    def _flush(self, run: list[tuple[Any, Any]], out: list[tuple[Any, Any]]) -> None:
        """Wrap ``run`` in a filler group (a run that matches only empty text stays bare)."""
        if not run:
            return
        body = self._parser.SubPattern(self._state, run)
        if body.getwidth()[1] == 0:
            out.extend(run)
            return
        self.count += 1
        out.append((self._subpattern, (self.count, 0, 0, body)))

    def _has_group(self, op: Any, av: Any) -> bool:
        """Whether the item holds a group; refuses back-references, conditionals, lookarounds."""
        if op in self._forbidden:
            raise _Declined(f"{op} in the pattern")
        if op is self._subpattern and av[0] is not None:
            return True
        return any(self._has_group(o, a) for child in self._children(op, av) for o, a in child.data)

    def _children(self, op: Any, av: Any) -> list[Any]:
        """The sub-patterns directly inside one item."""
        if op is self._subpattern:
            return [av[3]]
        if op is self._branch:
            return list(av[1])
        if op in self._repeats:
            return [av[2]]
        if op is self._atomic and self._atomic is not None:
            return [av]
        return []


class _WithinLine:
    """Keeps every part of a pattern within its line: negated sets also refuse a line break.

    On a line alone, a set never meets a line break, so ``[^",]`` and ``[^",\\n]``
    match the same; over a block, only the second stops at the line end. ``safe``
    stays true while nothing else in the pattern could take a line break (a
    literal one, a set such as ``\\s``, ``.`` under ``DOTALL``).
    """

    def __init__(self, parser: Any, compiler: Any, flags: int) -> None:
        self._parser = parser
        self._compiler = compiler
        self._flags = flags
        self._c: Any = importlib.import_module("re._constants")
        self._repeats = _opcodes(self._c, *_REPEATS)
        self._bare = _opcodes(self._c, "AT", "ANY", "LITERAL_IGNORE", "NOT_LITERAL_IGNORE")
        self.safe = not flags & re.DOTALL

    def items(self, items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        return [self._item(op, av) for op, av in items]

    def _item(self, op: Any, av: Any) -> tuple[Any, Any]:
        c = self._c
        newline = (c.LITERAL, 10)
        if op is c.LITERAL:
            self.safe = self.safe and av != 10
        elif op is c.NOT_LITERAL:
            if av != 10:
                return c.IN, [(c.NEGATE, None), (c.LITERAL, av), newline]
        elif op is c.IN:
            if av and av[0][0] is c.NEGATE:
                return op, [*av, newline]
            alone = self._parser.SubPattern(self._parser.State(), [(op, av)])
            alone.state.flags = self._flags
            if self._compiler.compile(alone, re.MULTILINE).fullmatch(b"\n"):
                self.safe = False
        elif op is c.SUBPATTERN:
            group, add_flags, del_flags, body = av
            self.safe = self.safe and not add_flags & re.DOTALL
            return op, (group, add_flags, del_flags, self._sub(body))
        elif op is c.BRANCH:
            return op, (av[0], [self._sub(body) for body in av[1]])
        elif op in self._repeats:
            low, high, body = av
            return op, (low, high, self._sub(body))
        elif op in (c.ASSERT, c.ASSERT_NOT):
            direction, body = av
            return op, (direction, self._sub(body))
        elif op is getattr(c, "ATOMIC_GROUP", None):
            return op, self._sub(av)
        elif op not in self._bare:
            self.safe = False
        return op, av

    def _sub(self, body: Any) -> Any:
        return self._parser.SubPattern(body.state, self.items(list(body.data)))
