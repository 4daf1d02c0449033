"""Access logs: a streaming IP anonymizer (standard library only) and its detector.

Library API (the CLI ``tutela logs anonymize`` is a thin layer over it)::

    from tutela.logs import AnonymizeOptions, Anonymizer, anonymize_stream

    options = AnonymizeOptions()                 # IPv4 /24, IPv6 /32, column 1
    Anonymizer(options).line(b"203.0.113.77 - - ...\\n")   # -> b"203.0.113.0 - - ...\\n"
    counts = anonymize_stream(src, dst, options)  # binary file objects -> Counts
    find_addresses(line)      # [(start, end, "2001:db8::1"), ...] every address in a line
    holds_full_address(line)  # True if an address still has host bits under the masks
"""

from tutela.logs.anonymizer import Anonymizer
from tutela.logs.errors import LogInputError
from tutela.logs.options import AnonymizeOptions, Counts
from tutela.logs.pipeline import anonymize_stream
from tutela.logs.scanner import Found, find_addresses, holds_full_address, is_truncated
from tutela.logs.streams import Compression, anonymize_files

__all__ = [
    "AnonymizeOptions",
    "Anonymizer",
    "Compression",
    "Counts",
    "Found",
    "LogInputError",
    "anonymize_files",
    "anonymize_stream",
    "find_addresses",
    "holds_full_address",
    "is_truncated",
]
