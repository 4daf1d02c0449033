"""Reading what a public page was sent: a bounded body, a form from it, the client address."""

from __future__ import annotations

import ipaddress

from fastapi import Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request as StarletteRequest
from starlette.types import Message

__all__ = ["client_ip", "form_text", "parse_form", "read_body"]


def client_ip(request: Request) -> str | None:
    """The client's IP address as text, or ``None`` when the connection names none."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` when it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def parse_form(request: Request, body: bytes) -> FormData:
    """``body`` parsed as a form (urlencoded or multipart); empty for anything else."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await StarletteRequest(request.scope, replay).form(max_files=0, max_fields=64)
    except HTTPException:
        return FormData()


def form_text(form: FormData, name: str) -> str:
    """The text field ``name`` of ``form``; empty when missing or a file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
