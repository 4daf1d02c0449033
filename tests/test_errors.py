from __future__ import annotations

from tutela.errors import NotFound, PolicyViolation, TutelaError


def test_problem_document_has_rfc9457_members() -> None:
    problem = NotFound("Version 7 does not exist.", version=7).problem()
    assert problem["status"] == 404
    assert problem["detail"] == "Version 7 does not exist."
    assert problem["type"].endswith("/not-found")
    assert problem["title"]
    assert problem["version"] == 7


def test_hierarchy() -> None:
    assert issubclass(PolicyViolation, TutelaError)
    assert PolicyViolation("x").status == 422
