"""Data subjects: identities found by blind index, values under per-subject keys.

A subject is a person Tutela knows about. Its identities (email, phone, customer
id, anonymous visitor id) are normalised, looked up through a keyed blind index
and stored encrypted under the subject's own data key, which is kept wrapped by
the master key. :func:`erase_subject` destroys that key (crypto-shredding).
"""

from tutela.subjects.identity import IdentityKind, normalize
from tutela.subjects.indexes import index_many, index_of
from tutela.subjects.keys import SubjectErased, SubjectVault, decrypt_for, encrypt_for
from tutela.subjects.models import Subject, SubjectIdentity, SubjectKey
from tutela.subjects.service import (
    LOOKUP_CHUNK,
    add_identity,
    erase_subject,
    find_subject,
    get_or_create_subject,
    identities,
    subject_by_public_id,
    subject_ids_for_indexes,
)

__all__ = [
    "LOOKUP_CHUNK",
    "IdentityKind",
    "Subject",
    "SubjectErased",
    "SubjectIdentity",
    "SubjectKey",
    "SubjectVault",
    "add_identity",
    "decrypt_for",
    "encrypt_for",
    "erase_subject",
    "find_subject",
    "get_or_create_subject",
    "identities",
    "index_many",
    "index_of",
    "normalize",
    "subject_by_public_id",
    "subject_ids_for_indexes",
]
