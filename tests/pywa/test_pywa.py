#!/usr/bin/env python3
"""Fidelity test: drive the Switchboard emulator with pywa, a stock WhatsApp Cloud API client.

Two things are checked:

(a) pywa can send every message type it supports that the emulator covers, and gets back
    the responses it expects (it parses them into its own SentMessage / Media / MediaURL /
    TemplatesResult / BusinessPhoneNumber objects; any shape it dislikes raises).
(b) every webhook the emulator emits parses through pywa's own webhook handling
    (``WhatsApp.webhook_update_handler``, the framework-agnostic entry point pywa documents for
    custom servers) into the expected typed update, with no error logged by pywa.

Usage:
    SWITCHBOARD_BIN=target/debug/switchboard python tests/pywa/test_pywa.py [-v]
    python tests/pywa/test_pywa.py --selfcheck [-v]

``--selfcheck`` needs no emulator: it runs every pywa send call against an in-process fake
Graph API (an ``httpx.MockTransport``) to check that the script's pywa calls match the
installed pywa, exercises the webhook receiver, and parses the repository's webhook corpus
(crates/cloudapi/tests/corpus/webhooks/*.json) and response corpus through pywa.

Every check counts as one pass or one fail; the script keeps going after a failure and ends
with the line ``N passed, M failed`` (exit status 1 if M > 0, 2 on a setup error).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import hmac
import http.server
import json
import logging
import os
import pathlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
import warnings
from typing import Any, Callable

try:
    import httpx
    import pywa
    from pywa import WhatsApp
    from pywa import handlers as pywa_handlers
    from pywa import types as pt
    from pywa.errors import WhatsAppError
    from pywa.types import templates as tt
    from pywa.types.media import Media, MediaURL
    from pywa.types.others import BusinessPhoneNumber, SuccessResult
    from pywa.types.sent_update import SentMessage, SentTemplate, SentTemplateStatus
except ImportError as e:  # pragma: no cover
    print(f"cannot import pywa/httpx ({e}); install tests/pywa/requirements.txt first", file=sys.stderr)
    sys.exit(2)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / "crates" / "cloudapi" / "tests" / "corpus"
GRAPH_HOST = "graph.facebook.com"
WAMID_RE = re.compile(r"^wamid\.[A-Za-z0-9+/=_\-]+$")
VERBOSE = False

# Tiny payloads with the right magic numbers (the emulator is offline; nothing decodes them).
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + b"\x08" * 64 + bytes.fromhex("ffd9")
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x00" + b"\x00" * 64
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead\x01\x01" + b"\x00" * 40
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24


def log(msg: str) -> None:
    print(msg, flush=True)


def vlog(msg: str) -> None:
    if VERBOSE:
        print("  . " + msg, flush=True)


# --------------------------------------------------------------------------------------------
# Check bookkeeping
# --------------------------------------------------------------------------------------------


class Checks:
    def __init__(self, prefix: str = "FAIL") -> None:
        self.prefix = prefix
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []
        self.notes: list[str] = []

    def ok(self, name: str, cond: bool, details: Any = "") -> bool:
        if cond:
            self.passed += 1
            vlog(f"PASS {name}")
            return True
        self.failed += 1
        text = f"{self.prefix} {name}" + (f"\n     {_fmt(details)}" if details not in ("", None) else "")
        self.failures.append(text)
        log(text)
        return False

    def attempt(self, name: str, fn: Callable[[], Any], validate: Callable[[Any], tuple[bool, Any]] | None = None) -> Any:
        """Run ``fn`` as one check: it fails if ``fn`` raises or ``validate(result)`` is falsy."""
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then we keep going
            self.ok(name, False, _exc_details(e))
            return None
        if validate is None:
            self.ok(name, True)
            return result
        try:
            good, details = validate(result)
        except Exception as e:  # noqa: BLE001
            good, details = False, f"validation raised {_exc_details(e)}; result={result!r}"
        self.ok(name, bool(good), details)
        return result if good else None

    def note(self, text: str) -> None:
        self.notes.append(text)
        log(f"NOTE {text}")


def _fmt(details: Any) -> str:
    s = details if isinstance(details, str) else repr(details)
    return s.replace("\n", "\n     ")


def _exc_details(e: BaseException) -> str:
    extra = ""
    if isinstance(e, WhatsAppError):
        resp = getattr(e, "response", None)
        if resp is not None:
            extra = f"\nHTTP {resp.status_code} {resp.request.method} {resp.request.url}\nbody: {resp.text[:800]}"
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-4:])
    return f"{type(e).__name__}: {e}{extra}\n{tb}"


# --------------------------------------------------------------------------------------------
# Redirecting pywa to the emulator
# --------------------------------------------------------------------------------------------


class GraphRedirect(httpx.BaseTransport):
    """httpx transport that sends requests addressed to graph.facebook.com to ``base_url``.

    pywa's GraphAPI forces ``session.base_url = "https://graph.facebook.com/v{api_version}"`` on
    whatever ``httpx.Client`` it is given, so there is no base-URL knob. The supported way in is
    the public ``session=`` parameter of ``WhatsApp``: we pass a client whose transport rewrites
    scheme/host/port (keeping the ``/v26.0/...`` path). Absolute URLs (media download URLs handed
    out by the emulator) pass through untouched.
    """

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None, recorder: list | None = None):
        u = httpx.URL(base_url)
        self.scheme, self.host, self.port = u.scheme, u.host, u.port
        self.prefix = u.path.rstrip("/")
        self.inner = inner or httpx.HTTPTransport()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST:
            request.url = request.url.copy_with(
                scheme=self.scheme, host=self.host, port=self.port, path=self.prefix + request.url.path
            )
            request.headers["Host"] = f"{self.host}:{self.port}" if self.port else self.host
        if self.recorder is not None:
            self.recorder.append(_describe_request(request))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _describe_request(request: httpx.Request) -> dict:
    ctype = request.headers.get("content-type", "")
    body: Any = None
    try:
        raw = request.read()
    except Exception:  # streaming bodies we cannot replay; not used by this script
        raw = b""
    if ctype.startswith("application/json") and raw:
        body = json.loads(raw)
    elif ctype.startswith("multipart/form-data"):
        body = {"multipart_fields": [f.decode() for f in re.findall(rb'; name="([^"]+)"', raw)]}
    return {
        "method": request.method,
        "host": request.url.host,
        "path": request.url.path,
        "query": dict(urllib.parse.parse_qsl(request.url.query.decode())),
        "content_type": ctype.split(";")[0],
        "auth": request.headers.get("authorization", ""),
        "body": body,
    }


def make_client(cfg: dict, inner: httpx.BaseTransport | None = None, recorder: list | None = None, token: str | None = None) -> WhatsApp:
    session = httpx.Client(transport=GraphRedirect(cfg["base_url"], inner=inner, recorder=recorder), timeout=20)
    return WhatsApp(
        phone_id=cfg["phone_number_id"],
        token=token or cfg["access_token"],
        api_version=str(cfg["api_version"]).lstrip("vV"),
        session=session,
        waba_id=cfg["waba_id"],
        app_secret=cfg["app_secret"],
        verify_token=cfg["verify_token"],
        filter_updates=True,  # drop (and so flag) updates whose waba/phone ids do not match
        skip_duplicate_updates=False,
        validate_updates=True,
    )


# --------------------------------------------------------------------------------------------
# Parsing webhooks through pywa
# --------------------------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclasses.dataclass
class ParseResult:
    typed: list  # typed updates pywa built (Message, MessageStatus, ...)
    raw_seen: bool  # pywa's RawUpdate handler ran
    status: tuple  # (body, http status) returned by webhook_update_handler
    errors: list[str]  # ERROR/exception log records
    warns: list[str]  # WARNING log records and Python warnings


class PywaParser:
    """Feeds raw webhook bodies to ``wa.webhook_update_handler`` with a catch-all handler for
    every update type pywa knows, and captures whatever pywa logs or warns meanwhile (pywa
    swallows parse errors into ``log.exception("Failed to construct update ...")``)."""

    def __init__(self, wa: WhatsApp) -> None:
        self.wa = wa
        self._typed: list = []
        self._raw: list = []
        self._lock = threading.Lock()
        handler_classes = list(getattr(WhatsApp, "_handlers_to_updates", {}).keys()) or [
            pywa_handlers.MessageHandler, pywa_handlers.MessageStatusHandler, pywa_handlers.CallbackButtonHandler,
            pywa_handlers.CallbackSelectionHandler, pywa_handlers.TemplateStatusUpdateHandler,
        ]
        for hcls in handler_classes:
            wa.add_handlers(hcls(self._on_typed))
        wa.add_handlers(pywa_handlers.RawUpdateHandler(self._on_raw))
        self.capture = _Capture()
        lg = logging.getLogger("pywa")
        lg.addHandler(self.capture)
        if lg.getEffectiveLevel() > logging.WARNING:
            lg.setLevel(logging.WARNING)
        lg.propagate = False

    def _on_typed(self, _wa: WhatsApp, update: Any) -> None:
        self._typed.append(update)

    def _on_raw(self, _wa: WhatsApp, update: Any) -> None:
        self._raw.append(update)

    def parse(self, body: bytes) -> ParseResult:
        with self._lock:
            self._typed.clear()
            self._raw.clear()
            self.capture.records.clear()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                status = self.wa.webhook_update_handler(body)
            errors, warns = [], []
            for r in self.capture.records:
                text = f"{r.name} {r.levelname}: {r.getMessage()}"
                if r.exc_info and r.exc_info[1] is not None:
                    exc = r.exc_info[1]
                    text += f" -> {type(exc).__name__}: {exc}"
                    tb = traceback.extract_tb(r.exc_info[2])
                    if tb:
                        fr = tb[-1]
                        text += f" (at {pathlib.Path(fr.filename).name}:{fr.lineno} `{fr.line}`)"
                (errors if r.levelno >= logging.ERROR else warns).append(text)
            for w in caught:
                warns.append(f"{w.category.__name__}: {str(w.message).splitlines()[0]}")
            return ParseResult(list(self._typed), bool(self._raw), status, errors, warns)


def expected_update(field: str, value: dict) -> tuple[str | None, str]:
    """What pywa type Meta's semantics say this change should become (None = pywa has no typed
    update for it; only its RawUpdate handler should run, without errors)."""
    if field == "messages":
        if value.get("messages"):
            m = value["messages"][0]
            t = m.get("type")
            if t == "interactive":
                it = (m.get("interactive") or {}).get("type")
                mapping = {
                    "button_reply": "CallbackButton",
                    "list_reply": "CallbackSelection",
                    "call_permission_reply": "CallPermissionUpdate",
                }
                if it == "nfm_reply":
                    return "FlowCompletion", "interactive/nfm_reply"
                return mapping.get(it, "Message"), f"interactive/{it}"
            if t == "button":
                return "CallbackButton", "button"
            if t == "system":
                st = (m.get("system") or {}).get("type")
                if st in ("user_changed_number", "customer_changed_number", "user_changed_user_id"):
                    return "PhoneNumberChange", f"system/{st}"
                if st == "customer_identity_changed":
                    return "IdentityChange", f"system/{st}"
                return "Message", f"system/{st}"
            if t == "edit":
                return "EditedMessage", "edit"
            if t == "revoke":
                return "DeletedMessage", "revoke"
            return "Message", f"message/{t}"
        if value.get("statuses"):
            s = value["statuses"][0]
            if s.get("recipient_type") == "group":
                return "GroupMessageStatuses", f"status/{s.get('status')} (group)"
            return "MessageStatus", f"status/{s.get('status')}"
        return None, "messages without messages[]/statuses[]"
    simple = {
        "message_template_status_update": "TemplateStatusUpdate",
        "template_category_update": "TemplateCategoryUpdate",
        "message_template_quality_update": "TemplateQualityUpdate",
        "message_template_components_update": "TemplateComponentsUpdate",
        "user_preferences": "UserMarketingPreferences",
        "account_update": "AccountUpdate",
    }
    if field in simple:
        return simple[field], field
    if field == "smb_message_echoes":
        t = ((value.get("message_echoes") or [{}])[0]).get("type")
        return {"edit": "OutgoingEditedMessage", "revoke": "OutgoingDeletedMessage"}.get(t, "OutgoingMessage"), f"echo/{t}"
    if field == "calls":
        if value.get("calls"):
            ev = value["calls"][0].get("event")
            return {"connect": "CallConnect", "terminate": "CallTerminate"}.get(ev), f"calls/{ev}"
        return "CallStatus", "calls/status"
    return None, field


def split_items(doc: dict) -> list[tuple[str, dict]]:
    """One single-item webhook body per entry x change x message/status (pywa only reads
    entry[0].changes[0].value.{messages,statuses}[0]). Contacts are matched to the item."""
    out = []
    for ei, entry in enumerate(doc.get("entry") or []):
        for ci, change in enumerate(entry.get("changes") or []):
            value = change.get("value") or {}
            for key, who in (("messages", ("from", "from_user_id")), ("statuses", ("recipient_id", "recipient_user_id"))):
                items = value.get(key) or []
                for ii, item in enumerate(items):
                    v = dict(value)
                    v.pop("messages", None)
                    v.pop("statuses", None)
                    v[key] = [item]
                    # keep only the contact that belongs to this item (none if none does, so a
                    # missing contact is not masked by another item's contact)
                    v.pop("contacts", None)
                    match = [c for c in value.get("contacts") or []
                             if (c.get("wa_id") and c.get("wa_id") == item.get(who[0]))
                             or (c.get("user_id") and c.get("user_id") == item.get(who[1]))]
                    if match:
                        v["contacts"] = match[:1]
                    single = {**doc, "entry": [{**entry, "changes": [{**change, "value": v}]}]}
                    out.append((f"entry[{ei}].changes[{ci}].{key}[{ii}]", single))
            if not value.get("messages") and not value.get("statuses"):
                single = {**doc, "entry": [{**entry, "changes": [change]}]}
                out.append((f"entry[{ei}].changes[{ci}]", single))
    return out


def check_parsed(checks: Checks, parser: PywaParser, name: str, body: bytes, strict_warnings: bool,
                 expect_override: str | None = None) -> list:
    """Parse one body through pywa and count one check per item in it. Returns typed updates."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        checks.ok(f"{name}: body is JSON", False, str(e))
        return []
    items = split_items(doc)
    if not items:
        checks.ok(f"{name}: has entry[].changes[]", False, body[:300])
        return []
    typed_all = []
    for idx, (where, single) in enumerate(items):
        # The first item is fed as the exact raw bytes received; later ones are split out
        # because pywa silently ignores every item but the first.
        raw = body if idx == 0 else json.dumps(single).encode()
        if idx == 1:
            checks.note(f"{name}: batched body with {len(items)} items; pywa only reads the first, the rest were split out and parsed one by one")
        change = single["entry"][0]["changes"][0]
        exp, what = expected_update(change.get("field", ""), change.get("value") or {})
        if expect_override and idx == 0:
            exp = expect_override
        label = f"{name} [{where}] ({what}) -> {exp or 'RawUpdate only'}"
        res = parser.parse(raw)
        problems = []
        if res.status != ("ok", 200):
            problems.append(f"webhook_update_handler returned {res.status!r}")
        if res.errors:
            problems += res.errors
        if strict_warnings and res.warns and exp is not None:
            problems += res.warns
        if not res.raw_seen:
            problems.append("pywa's RawUpdate handler did not run")
        got = [type(u).__name__ for u in res.typed]
        if exp is None:
            if res.typed:
                problems.append(f"unexpected typed update(s) {got}")
        elif got != [exp]:
            problems.append(f"expected exactly one {exp}, pywa produced {got or 'nothing (filtered out or unrecognised)'}")
        else:
            problems += _field_checks(res.typed[0], change.get("value") or {})
        if res.warns and not (strict_warnings and exp is not None):
            vlog(f"{name}: pywa warnings (not counted): {res.warns}")
        checks.ok(label, not problems, "\n".join(problems))
        typed_all += res.typed
    return typed_all


def _field_checks(u: Any, value: dict) -> list[str]:
    """Spot-check that pywa's typed object carries the raw values (catches silent mis-parses)."""
    p = []
    try:
        if isinstance(u, pt.MessageStatus):
            s = value["statuses"][0]
            if u.id != s.get("id"):
                p.append(f"MessageStatus.id {u.id!r} != {s.get('id')!r}")
            if str(u.status) != s.get("status"):
                p.append(f"MessageStatus.status {u.status!r} != {s.get('status')!r}")
            if s.get("errors") and (u.error is None or u.error.code != s["errors"][0].get("code")):
                p.append(f"MessageStatus.error {u.error!r} does not carry code {s['errors'][0].get('code')}")
        elif isinstance(u, pt.Message):
            m = value["messages"][0]
            if u.id != m.get("id"):
                p.append(f"Message.id {u.id!r} != {m.get('id')!r}")
            if str(u.type) != m.get("type") and str(u.type) != "unknown":
                p.append(f"Message.type {u.type!r} != {m.get('type')!r}")
            t = m.get("type")
            if t in ("text", "image", "video", "audio", "document", "sticker", "location", "reaction", "contacts", "order") and getattr(u, t) is None:
                p.append(f"Message.{t} is None")
            if t == "text" and u.text != m["text"].get("body"):
                p.append(f"Message.text {u.text!r} != {m['text'].get('body')!r}")
        elif isinstance(u, pt.CallbackButton):
            m = value["messages"][0]
            want = m["interactive"]["button_reply"]["id"] if m["type"] == "interactive" else m["button"]["payload"]
            if u.data != want:
                p.append(f"CallbackButton.data {u.data!r} != {want!r}")
        elif isinstance(u, pt.CallbackSelection):
            want = value["messages"][0]["interactive"]["list_reply"]["id"]
            if u.data != want:
                p.append(f"CallbackSelection.data {u.data!r} != {want!r}")
    except Exception as e:  # noqa: BLE001
        p.append(f"field check raised {type(e).__name__}: {e}")
    return p


# --------------------------------------------------------------------------------------------
# Webhook receiver (stand-in for the business' server)
# --------------------------------------------------------------------------------------------


class WebhookReceiver:
    def __init__(self) -> None:
        self.ready = threading.Event()  # set once cfg/wa are known
        self.cfg: dict = {}
        self.wa: WhatsApp | None = None
        self.lock = threading.Lock()
        self.handshakes: list[dict] = []
        self.posts: list[dict] = []
        self.errors: list[str] = []
        receiver = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):  # quiet
                vlog("webhook " + fmt % args)

            def _reply(self, code: int, text: str) -> None:
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                receiver.ready.wait(20)
                rec = {"path": self.path, "query": q, "t": time.time(), "posts_before": len(receiver.posts)}
                ok_mode = q.get("hub.mode") == "subscribe"
                if receiver.wa is not None:
                    body, code = receiver.wa.webhook_challenge_handler(q.get("hub.verify_token"), q.get("hub.challenge"))
                else:
                    ok = q.get("hub.verify_token") == receiver.cfg.get("verify_token")
                    body, code = (q.get("hub.challenge"), 200) if ok else ("Forbidden", 403)
                if not ok_mode:
                    body, code = "Bad hub.mode", 400
                rec["answered"] = code
                with receiver.lock:
                    receiver.handshakes.append(rec)
                self._reply(code, body or "")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.ready.wait(20)
                sig = self.headers.get("X-Hub-Signature-256")
                secret = (receiver.cfg.get("app_secret") or "").encode()
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                own_ok = sig is not None and hmac.compare_digest(sig, want)
                pywa_verdict = receiver.wa.webhook_update_validator(body, sig) if receiver.wa is not None else "no client"
                rec = {"seq": len(receiver.posts), "path": self.path, "body": body, "sig": sig, "sig_ok": own_ok,
                       "pywa_validator": pywa_verdict, "ctype": self.headers.get("Content-Type"), "t": time.time()}
                try:
                    rec["doc"] = json.loads(body)
                except ValueError:
                    rec["doc"] = None
                with receiver.lock:
                    receiver.posts.append(rec)
                self._reply(200, "ok")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.posts)


def items_of(doc: dict | None) -> list[tuple[str, dict, dict]]:
    """(field, value, item) for every message/status/other change in a webhook doc."""
    out = []
    for entry in (doc or {}).get("entry") or []:
        for change in entry.get("changes") or []:
            v = change.get("value") or {}
            f = change.get("field")
            for m in v.get("messages") or []:
                out.append((f, v, {"kind": "message", **m}))
            for s in v.get("statuses") or []:
                out.append((f, v, {"kind": "status", **s}))
            if not v.get("messages") and not v.get("statuses"):
                out.append((f, v, {"kind": "other"}))
    return out


# --------------------------------------------------------------------------------------------
# Emulator process + control API
# --------------------------------------------------------------------------------------------


class Emulator:
    REQUIRED = ("base_url", "api_version", "phone_number_id", "waba_id", "display_phone_number",
                "access_token", "app_secret", "verify_token")

    def __init__(self, binary: str, webhook_url: str) -> None:
        self.binary = binary
        self.webhook_url = webhook_url
        self.proc: subprocess.Popen | None = None
        self.stderr_file = tempfile.NamedTemporaryFile(prefix="switchboard-emulator-", suffix=".log", delete=False)
        self.stdout_extra: list[str] = []

    def start(self, timeout: float = 60) -> dict:
        cmd = [self.binary, "emulator", "--listen", "127.0.0.1:0", "--webhook-url", self.webhook_url]
        log(f"starting: {' '.join(cmd)}")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr_file, text=True, bufsize=1)
        lines: queue.Queue = queue.Queue()

        def pump():
            assert self.proc and self.proc.stdout
            first = True
            for line in self.proc.stdout:
                if first:
                    lines.put(line)
                    first = False
                else:
                    self.stdout_extra.append(line)
            if first:
                lines.put(None)

        threading.Thread(target=pump, name="emulator-stdout", daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"emulator printed nothing on stdout within {timeout}s; stderr: {self.stderr_tail()}")
        if line is None:
            raise RuntimeError(f"emulator exited (code {self.proc.poll()}) before printing its JSON line; stderr: {self.stderr_tail()}")
        try:
            cfg = json.loads(line)
        except ValueError:
            raise RuntimeError(f"emulator's first stdout line is not JSON: {line!r}")
        return cfg

    def stderr_tail(self, n: int = 3000) -> str:
        try:
            return pathlib.Path(self.stderr_file.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Control:
    def __init__(self, cfg: dict) -> None:
        self.http = httpx.Client(base_url=cfg["base_url"], timeout=20,
                                 headers={"Authorization": f"Bearer {cfg['access_token']}"})

    def _json(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise RuntimeError(f"{r.request.method} {r.request.url.path} -> HTTP {r.status_code}: {r.text[:500]}")
        return r.json()

    def customer(self, wa_id: str, name: str) -> dict:
        return self._json(self.http.post("/_emulator/customers", json={"wa_id": wa_id, "name": name}))

    def inbound(self, wa_id: str, content: dict) -> dict:
        return self._json(self.http.post(f"/_emulator/customers/{wa_id}/messages", json=content))

    def outbox(self) -> Any:
        return self._json(self.http.get("/_emulator/outbox"))

    def advance(self, seconds: int) -> Any:
        return self._json(self.http.post("/_emulator/clock/advance", json={"seconds": seconds}))


# --------------------------------------------------------------------------------------------
# The pywa send scenario (shared by the live run and --selfcheck)
# --------------------------------------------------------------------------------------------

ALL_STATUSES = ("sent", "delivered", "read")


@dataclasses.dataclass
class Sent:
    label: str
    wamid: str
    expect: tuple[str, ...]  # statuses that must arrive for it


@dataclasses.dataclass
class Ctx:
    checks: Checks
    wa: WhatsApp
    cfg: dict
    to: str
    advance: Callable[[int], Any]
    live: bool
    sent: list[Sent] = dataclasses.field(default_factory=list)
    template: Any = None
    template_wamid: str | None = None
    list_wamid: str | None = None
    buttons_wamid: str | None = None


def _valid_sent(ctx: Ctx, cls: type = SentMessage) -> Callable[[Any], tuple[bool, Any]]:
    def v(res: Any) -> tuple[bool, Any]:
        probs = []
        if not isinstance(res, cls):
            probs.append(f"expected {cls.__name__}, got {type(res).__name__}")
        else:
            if not WAMID_RE.match(res.id or ""):
                probs.append(f"message id {res.id!r} is not wamid-like")
            if res.chat.id != ctx.to:
                probs.append(f"contacts[0].wa_id {res.chat.id!r} != {ctx.to!r}")
            if res.input != ctx.to:
                probs.append(f"contacts[0].input {res.input!r} != {ctx.to!r}")
        return not probs, "; ".join(probs) or res

    return v


def send(ctx: Ctx, label: str, fn: Callable[[], Any], expect: tuple[str, ...] = ALL_STATUSES, cls: type = SentMessage) -> Any:
    res = ctx.checks.attempt(f"send {label}", fn, _valid_sent(ctx, cls))
    if res is not None:
        ctx.sent.append(Sent(label, res.id, expect))
    return res


def run_sends(ctx: Ctx, inbound_wamid: str) -> None:
    wa, to, c = ctx.wa, ctx.to, ctx.checks

    # --- account ------------------------------------------------------------------------
    def v_phone(p: Any) -> tuple[bool, Any]:
        probs = []
        if not isinstance(p, BusinessPhoneNumber):
            probs.append(f"got {type(p).__name__}")
        elif str(p.id) != str(ctx.cfg["phone_number_id"]):
            probs.append(f"id {p.id!r} != {ctx.cfg['phone_number_id']!r}")
        elif re.sub(r"\D", "", p.display_phone_number or "") != re.sub(r"\D", "", ctx.cfg["display_phone_number"]):
            probs.append(f"display_phone_number {p.display_phone_number!r} != {ctx.cfg['display_phone_number']!r}")
        return not probs, "; ".join(probs) or p

    c.attempt("get_business_phone_number", lambda: wa.get_business_phone_number(), v_phone)

    # --- read receipt + typing ----------------------------------------------------------
    truthy = lambda r: (isinstance(r, SuccessResult) and bool(r), r)  # noqa: E731
    c.attempt("mark_message_as_read", lambda: wa.mark_message_as_read(inbound_wamid), truthy)
    c.attempt("indicate_typing", lambda: wa.indicate_typing(inbound_wamid), truthy)

    # --- text -----------------------------------------------------------------------------
    send(ctx, "text with preview_url", lambda: wa.send_message(to, "See https://example.com/item/1 for details", preview_url=True))
    send(ctx, "text reply-to (context)", lambda: wa.send_message(to, "Yes, it comes in blue.", reply_to_message_id=inbound_wamid))
    send(ctx, "text with tracker (biz_opaque_callback_data)", lambda: wa.send_message(to, "Tracked", tracker="order-42"))

    # --- media by link ----------------------------------------------------------------------
    send(ctx, "image by link + caption", lambda: wa.send_image(to, "https://example.com/media/cat.jpg", caption="A cat"))
    send(ctx, "video by link + caption", lambda: wa.send_video(to, "https://example.com/media/clip.mp4", caption="A clip"))
    send(ctx, "audio by link", lambda: wa.send_audio(to, "https://example.com/media/song.mp3"))
    send(ctx, "document by link + filename", lambda: wa.send_document(to, "https://example.com/media/invoice.pdf", filename="invoice-42.pdf", caption="Invoice"))
    send(ctx, "sticker by link", lambda: wa.send_sticker(to, "https://example.com/media/smile.webp"))

    # --- media upload, then by id -----------------------------------------------------------
    def v_media(m: Any) -> tuple[bool, Any]:
        if not isinstance(m, Media):
            return False, f"got {type(m).__name__}"
        # pywa only treats a *string* as a media id when it is all digits (str.isdigit()).
        return str(m.id).isdigit(), f"media id {m.id!r} must be all digits for pywa to accept it back as an id"

    img = c.attempt("upload_media image/jpeg", lambda: wa.upload_media(JPEG, mime_type="image/jpeg", filename="photo.jpg"), v_media)
    if img is not None:
        send(ctx, "image by uploaded Media object", lambda: wa.send_image(to, img, caption="uploaded"))
        send(ctx, "image by media id string", lambda: wa.send_image(to, str(img.id)))

        def v_url(u: Any) -> tuple[bool, Any]:
            probs = []
            if not isinstance(u, MediaURL):
                return False, f"got {type(u).__name__}"
            if str(u.id) != str(img.id):
                probs.append(f"id {u.id!r} != {img.id!r}")
            if u.mime_type != "image/jpeg":
                probs.append(f"mime_type {u.mime_type!r}")
            if int(u.file_size) != len(JPEG):
                probs.append(f"file_size {u.file_size!r} != {len(JPEG)}")
            if u.sha256 not in (hashlib.sha256(JPEG).hexdigest(), base64.b64encode(hashlib.sha256(JPEG).digest()).decode()):
                probs.append(f"sha256 {u.sha256!r} is neither hex nor base64 SHA-256 of the upload")
            if not str(u.url).startswith(("http://", "https://")):
                probs.append(f"url {u.url!r} is not absolute")
            return not probs, "; ".join(probs) or u

        murl = c.attempt("get_media_url", lambda: wa.get_media_url(img.id), v_url)
        if murl is not None:
            c.attempt("get_media_bytes (download with bearer token)", lambda: wa.get_media_bytes(murl.url),
                      lambda b: (b == JPEG, f"downloaded {len(b)} bytes, first {b[:16]!r}; expected the {len(JPEG)} uploaded bytes"))
            with tempfile.TemporaryDirectory() as d:
                c.attempt("download_media to a file", lambda: wa.download_media(url=murl.url, path=d, filename="x.jpg"),
                          lambda p: (pathlib.Path(p).read_bytes() == JPEG, p))

    # pywa uploads raw bytes itself (POST /media) and then sends by id:
    send(ctx, "video by bytes (auto-upload)", lambda: wa.send_video(to, MP4, mime_type="video/mp4", caption="uploaded clip"))
    send(ctx, "audio by bytes (auto-upload)", lambda: wa.send_audio(to, MP3, mime_type="audio/mpeg"))
    send(ctx, "voice note by bytes (audio voice=true)", lambda: wa.send_voice(to, OGG, mime_type="audio/ogg"))
    send(ctx, "document by bytes (auto-upload) + filename", lambda: wa.send_document(to, PDF, filename="report.pdf", mime_type="application/pdf", caption="Report"))
    send(ctx, "sticker by bytes (auto-upload)", lambda: wa.send_sticker(to, WEBP, mime_type="image/webp"))

    # --- location / contacts ------------------------------------------------------------------
    send(ctx, "location", lambda: wa.send_location(to, 37.44216, -122.16170, name="Philz Coffee", address="101 Forest Ave, Palo Alto, CA 94301"))
    contact = pt.Contact(
        name=pt.Contact.Name(formatted_name="Barbara J. Johnson", first_name="Barbara", last_name="Johnson"),
        birthday="1999-01-23",
        phones=[pt.Contact.Phone(phone="+16505559999", type="WORK", wa_id="16505559999")],
        emails=[pt.Contact.Email(email="bjohnson@example.com", type="WORK")],
        urls=[pt.Contact.Url(url="https://www.example.com", type="WORK")],
        addresses=[pt.Contact.Address(street="1 Lucky Shrub Way", city="Menlo Park", state="CA", zip="94025",
                                      country="United States", country_code="US", type="WORK")],
        org=pt.Contact.Org(company="Lucky Shrub", department="Legal", title="Lead Counsel"),
    )
    send(ctx, "contacts (full card)", lambda: wa.send_contact(to, contact))
    send(ctx, "contacts (name + phone only; pywa sends explicit nulls)", lambda: wa.send_contact(
        to, pt.Contact(name=pt.Contact.Name(formatted_name="Sam"), phones=[pt.Contact.Phone(phone="+16505550000")])))

    # --- reactions (Meta: only a `sent` status follows) -----------------------------------------
    send(ctx, "reaction", lambda: wa.send_reaction(to, "\U0001f44d", inbound_wamid), expect=("sent",))
    send(ctx, "remove_reaction (emoji \"\")", lambda: wa.remove_reaction(to, inbound_wamid), expect=("sent",))

    # --- interactive ------------------------------------------------------------------------------
    r = send(ctx, "reply buttons (text header + footer)", lambda: wa.send_message(
        to, "Pick a colour", header="Colours", footer="Tap one",
        buttons=[pt.Button("Blue", callback_data="colour:blue"), pt.Button("Red", callback_data="colour:red"),
                 pt.Button("Green", callback_data="colour:green")]))
    ctx.buttons_wamid = r.id if r is not None else None
    send(ctx, "reply buttons with image header", lambda: wa.send_image(
        to, "https://example.com/media/shoe.jpg", caption="Want this one?",
        buttons=[pt.Button("Yes", callback_data="yes"), pt.Button("No", callback_data="no")]))
    r = send(ctx, "section list", lambda: wa.send_message(
        to, "Choose shipping", header="Shipping", footer="Prices incl. tax",
        buttons=pt.SectionList(button_title="Options", sections=[
            pt.Section(title="Fast", rows=[pt.SectionRow("Express", "ship:express", "Next day"),
                                            pt.SectionRow("Priority", "ship:priority")]),
            pt.Section(title="Cheap", rows=[pt.SectionRow("Ground", "ship:ground", "3-5 days")])])))
    ctx.list_wamid = r.id if r is not None else None
    send(ctx, "CTA URL button", lambda: wa.send_message(
        to, "Track your order", footer="example.com", buttons=pt.URLButton(title="Open", url="https://example.com/o/1")))
    send(ctx, "location request", lambda: wa.request_location(to, "Where should we deliver?"))

    # --- templates ----------------------------------------------------------------------------------
    run_template(ctx)


def run_template(ctx: Ctx) -> None:
    wa, c = ctx.wa, ctx.checks
    header = tt.HeaderText("Order {{1}}", "1234")
    body = tt.BodyText("Hi {{1}}, your order {{2}} has shipped.", "Sheena", "1234")
    qr = tt.QuickReplyButton(text="Track order")
    url_btn = tt.URLButton(text="Open order", url="https://example.com/o/{{1}}", example="https://example.com/o/1234")
    tpl = tt.Template(
        name=f"pywa_order_update_{uuid.uuid4().hex[:8]}",
        language=tt.TemplateLanguage.ENGLISH_US,
        category=tt.TemplateCategory.UTILITY,
        parameter_format=tt.ParamFormat.POSITIONAL,
        components=[header, body, tt.FooterText(text="Thanks for shopping"), tt.Buttons(buttons=[qr, url_btn])],
    )

    def v_created(t: Any) -> tuple[bool, Any]:
        ok = isinstance(t, tt.CreatedTemplate) and bool(t.id) and str(t.status) in ("PENDING", "APPROVED")
        return ok, t

    created = c.attempt("create_template (POST message_templates)", lambda: wa.create_template(tpl), v_created)
    if created is None:
        return

    state: dict = {}

    def approved() -> bool:
        res = wa.get_templates(name=tpl.name)
        state["last"] = res
        mine = [t for t in res if str(t.id) == str(created.id)]
        state["mine"] = mine
        return bool(mine) and str(mine[0].status) == "APPROVED"

    # Meta reviews new templates asynchronously; the emulator after ~60 s of (emulated) time.
    ctx.advance(60)
    deadline = time.time() + 20
    ok, err = False, None
    while True:
        try:
            ok = approved()
            err = None
        except Exception as e:  # noqa: BLE001
            err = e
        if ok or time.time() > deadline:
            break
        ctx.advance(30)
        time.sleep(0.3)
    if err is not None:
        c.ok("get_templates (GET message_templates) parses", False, _exc_details(err))
        return
    c.ok("get_templates (GET message_templates) parses", isinstance(state.get("last"), tt.TemplatesResult), state.get("last"))
    c.ok("template approved after review", ok, f"templates for {tpl.name}: {state.get('mine')}")
    if not ok:
        return
    details = state["mine"][0]
    c.ok("template details round-trip (name/language/category/components parsed)",
         details.name == tpl.name and details.language == tpl.language and len(details.components) == 4
         and all(not isinstance(x, dict) for x in details.components), details)

    params = [header.params("9876"), body.params("Sheena", "9876"),
              qr.params(callback_data="track:9876", index=0), url_btn.params(url_variable="9876", index=1)]

    def v_tpl(res: Any) -> tuple[bool, Any]:
        good, det = _valid_sent(ctx, SentTemplate)(res)
        if good and res.status not in (None, SentTemplateStatus.ACCEPTED, SentTemplateStatus.HELD_FOR_QUALITY_ASSESSMENT):
            return False, f"messages[0].message_status {res.status!r}"
        return good, det

    res = c.attempt("send template with header/body/button params", lambda: wa.send_template(ctx.to, template=tpl, params=params), v_tpl)
    if res is not None:
        ctx.sent.append(Sent("template", res.id, ALL_STATUSES))
        ctx.template_wamid = res.id
    ctx.template = tpl


# --------------------------------------------------------------------------------------------
# Live run against the emulator
# --------------------------------------------------------------------------------------------


def wait_until(pred: Callable[[], bool], control: Control | None, timeout: float, step_seconds: int = 5) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        if control is not None:
            try:
                control.advance(step_seconds)
            except Exception as e:  # noqa: BLE001
                vlog(f"clock advance failed: {e}")
        time.sleep(0.25)
    return pred()


def live(checks: Checks, binary: str, timeout: float) -> None:
    receiver = WebhookReceiver().start()
    emu = Emulator(binary, receiver.url)
    try:
        try:
            cfg = emu.start()
        except Exception as e:  # noqa: BLE001
            checks.ok("emulator starts and prints its JSON line", False, str(e))
            return
        missing = [k for k in Emulator.REQUIRED if not cfg.get(k)]
        if not checks.ok("emulator JSON line has all keys", not missing, f"missing {missing}; got {cfg}"):
            return
        log(f"emulator at {cfg['base_url']} (api {cfg['api_version']}, phone {cfg['phone_number_id']}, waba {cfg['waba_id']})")
        receiver.cfg = cfg
        wa = make_client(cfg)
        receiver.wa = wa
        parser = PywaParser(wa)
        receiver.ready.set()
        control = Control(cfg)
        try:
            _live_scenario(checks, cfg, wa, parser, control, receiver, timeout)
        finally:
            if checks.failed:
                tail = emu.stderr_tail()
                if tail:
                    log("---- emulator stderr (tail) ----\n" + tail + "\n--------------------------------")
    finally:
        emu.stop()
        receiver.stop()


def _live_scenario(checks: Checks, cfg: dict, wa: WhatsApp, parser: PywaParser, control: Control,
                   receiver: WebhookReceiver, timeout: float) -> None:
    customer = "16505551234"
    stranger = "16505550199"  # never writes: free-form to them must fail with 131047
    checks.attempt("control: create customer", lambda: control.customer(customer, "Sheena Nelson"),
                   lambda r: (isinstance(r, dict) and r.get("id") == customer, r))
    checks.attempt("control: create second customer", lambda: control.customer(stranger, "Sam Stranger"),
                   lambda r: (isinstance(r, dict) and r.get("id") == stranger, r))

    wamid_ok = lambda r: (isinstance(r, dict) and bool(WAMID_RE.match(str(r.get("id", "")))), r)  # noqa: E731
    first = checks.attempt("control: customer writes text", lambda: control.inbound(customer, {"type": "text", "text": {"body": "Does it come in blue?"}}), wamid_ok)
    if first is None:
        return
    inbound_wamid = first["id"]

    def has_message(wamid: str) -> bool:
        return any(it["kind"] == "message" and it.get("id") == wamid for p in receiver.snapshot() for _, _, it in items_of(p["doc"]))

    checks.ok("inbound text webhook arrives", wait_until(lambda: has_message(inbound_wamid), control, timeout),
              f"no messages webhook with id {inbound_wamid}; got {len(receiver.snapshot())} POSTs")
    checks.ok("GET verification handshake answered before the first POST",
              bool(receiver.handshakes) and receiver.handshakes[0]["posts_before"] == 0 and receiver.handshakes[0]["answered"] == 200,
              receiver.handshakes)

    # ---- (a) pywa sends -------------------------------------------------------------------------
    ctx = Ctx(checks=checks, wa=wa, cfg=cfg, to=customer, advance=lambda s: control.advance(s), live=True)
    run_sends(ctx, inbound_wamid)

    # a free-form message outside the 24 h window: accepted, then a failed status with 131047
    sctx = dataclasses.replace(ctx, to=stranger, sent=[])
    stranger_msg = send(sctx, "text to a customer without an open window (accepted, fails async)",
                        lambda: wa.send_message(stranger, "Hello?"), expect=())

    # synchronous error path: a wrong token must raise pywa's WhatsAppError (Meta: 190 / HTTP 401)
    bad = make_client(cfg, token="not-the-token")
    try:
        bad.send_message(customer, "x")
        checks.ok("wrong access token -> WhatsAppError code 190", False, "send succeeded with a wrong token")
    except WhatsAppError as e:
        checks.ok("wrong access token -> WhatsAppError code 190", e.code == 190, f"code={e.code} message={e.message!r}")
    except Exception as e:  # noqa: BLE001
        checks.ok("wrong access token -> WhatsAppError code 190", False, _exc_details(e))

    # ---- inbound message types ------------------------------------------------------------------
    ctx_from = cfg["display_phone_number"]

    def ctx_of(wamid: str | None) -> dict:
        return {"context": {"from": ctx_from, "id": wamid}} if wamid else {}

    inbound_specs: list[tuple[str, dict, str]] = [
        ("image", {"type": "image", "image": {"caption": "this one", "mime_type": "image/jpeg",
                                              "sha256": base64.b64encode(hashlib.sha256(JPEG).digest()).decode(),
                                              "id": "1003383421387256"}}, "Message"),
        ("button_reply", {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "colour:blue", "title": "Blue"}},
                          **ctx_of(ctx.buttons_wamid)}, "CallbackButton"),
        ("list_reply", {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "ship:express", "title": "Express", "description": "Next day"}},
                        **ctx_of(ctx.list_wamid)}, "CallbackSelection"),
        ("location", {"type": "location", "location": {"latitude": 37.44221, "longitude": -122.16165, "name": "Philz Coffee", "address": "101 Forest Ave"}}, "Message"),
        ("reaction", {"type": "reaction", "reaction": {"message_id": ctx.sent[0].wamid if ctx.sent else inbound_wamid, "emoji": "\U0001f44d"}}, "Message"),
        ("contacts", {"type": "contacts", "contacts": [{"name": {"formatted_name": "Chandler Bing", "first_name": "Chandler"},
                                                        "phones": [{"phone": "+1 555-555-5555", "wa_id": "15555555555", "type": "CELL"}]}]}, "Message"),
        ("order", {"type": "order", "order": {"catalog_id": "194836987003835", "text": "Gift wrap please",
                                              "product_items": [{"product_retailer_id": "sku-1", "quantity": 2, "item_price": 30.0, "currency": "USD"}]}}, "Message"),
        ("button (template quick reply)", {"type": "button", "button": {"payload": "track:9876", "text": "Track order"},
                                           **ctx_of(ctx.template_wamid)}, "CallbackButton"),
    ]
    inbound_ids: dict[str, tuple[str, str]] = {inbound_wamid: ("text", "Message")}
    for label, content, exp in inbound_specs:
        r = checks.attempt(f"control: customer sends {label}", lambda content=content: control.inbound(customer, content), wamid_ok)
        if r is not None:
            inbound_ids[r["id"]] = (label, exp)

    # ---- wait for webhooks ------------------------------------------------------------------------
    def statuses() -> dict[str, set]:
        seen: dict[str, set] = {}
        for p in receiver.snapshot():
            for _, _, it in items_of(p["doc"]):
                if it["kind"] == "status":
                    seen.setdefault(it.get("id"), set()).add(it.get("status"))
        return seen

    def all_arrived() -> bool:
        st = statuses()
        if any(not set(s.expect) <= st.get(s.wamid, set()) for s in ctx.sent):
            return False
        if stranger_msg is not None and "failed" not in st.get(stranger_msg.id, set()):
            return False
        return all(has_message(w) for w in inbound_ids)

    wait_until(all_arrived, control, timeout)
    st = statuses()
    for s in ctx.sent:
        got = st.get(s.wamid, set())
        checks.ok(f"statuses {'/'.join(s.expect)} arrive for: {s.label}", set(s.expect) <= got and "failed" not in got,
                  f"wamid {s.wamid}: got {sorted(got) or 'none'}")
    if stranger_msg is not None:
        got = st.get(stranger_msg.id, set())
        codes = [e.get("code") for p in receiver.snapshot() for _, _, it in items_of(p["doc"])
                 if it["kind"] == "status" and it.get("id") == stranger_msg.id for e in it.get("errors") or []]
        checks.ok("outside the window: failed status with error 131047", "failed" in got and 131047 in codes,
                  f"statuses {sorted(got)}, error codes {codes}")
    for wamid, (label, _) in inbound_ids.items():
        checks.ok(f"inbound webhook arrives: {label}", has_message(wamid), f"no messages webhook with id {wamid}")

    # pricing on at least one of sent/delivered/read for each non-reaction message
    for s in ctx.sent:
        if s.expect != ALL_STATUSES:
            continue
        priced = [it.get("status") for p in receiver.snapshot() for _, _, it in items_of(p["doc"])
                  if it["kind"] == "status" and it.get("id") == s.wamid and it.get("pricing")]
        checks.ok(f"pricing present on a status for: {s.label}", bool(priced), f"wamid {s.wamid}")

    try:
        ob = control.outbox()
        text = json.dumps(ob)
        missing = [s.label for s in ctx.sent if s.wamid not in text]
        checks.ok("control: outbox lists every accepted send", isinstance(ob, list) and not missing, f"missing {missing}")
    except Exception as e:  # noqa: BLE001
        checks.ok("control: outbox lists every accepted send", False, _exc_details(e))

    # ---- (b) every captured webhook through pywa ---------------------------------------------------
    posts = receiver.snapshot()
    log(f"parsing {len(posts)} webhook POSTs through pywa")
    for p in posts:
        name = f"webhook #{p['seq']}"
        checks.ok(f"{name}: X-Hub-Signature-256 valid (own HMAC and pywa.webhook_update_validator)",
                  p["sig_ok"] and p["pywa_validator"] is None,
                  f"header {p['sig']!r}; pywa says {p['pywa_validator']!r}")
        if p["doc"] is None:
            checks.ok(f"{name}: body is JSON", False, p["body"][:300])
            continue
        override = None
        first_items = items_of(p["doc"])
        if first_items and first_items[0][2]["kind"] == "message" and first_items[0][2].get("id") in inbound_ids:
            override = inbound_ids[first_items[0][2]["id"]][1]
        typed = check_parsed(checks, parser, name, p["body"], strict_warnings=True, expect_override=override)
        for u in typed:
            if isinstance(u, (pt.Message, pt.CallbackButton, pt.CallbackSelection)):
                checks.ok(f"{name}: sender is the customer", u.from_user.wa_id in (customer,), f"from_user={u.from_user!r}")


# --------------------------------------------------------------------------------------------
# --selfcheck: no emulator needed
# --------------------------------------------------------------------------------------------


class FakeGraph:
    """Minimal Meta-shaped Graph API, only to exercise the script's pywa calls offline."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.media: dict[str, tuple[bytes, str]] = {}
        self.templates: dict[str, dict] = {}
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return str(1037543291543600 + self.n)

    def handle(self, req: httpx.Request) -> httpx.Response:
        cfg = self.cfg
        if req.headers.get("authorization") != f"Bearer {cfg['access_token']}":
            return httpx.Response(401, json={"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190, "fbtrace_id": "A"}})
        path = req.url.path
        v = "/" + cfg["api_version"]
        if req.url.host == "media.emulator.invalid":
            data, mime = self.media[path.rsplit("/", 1)[-1]]
            return httpx.Response(200, content=data, headers={"Content-Type": mime})
        if not path.startswith(v + "/"):
            return httpx.Response(404, json={"error": {"message": f"unknown path {path}", "code": 100}})
        rest = path[len(v) + 1:]
        pid, waba = cfg["phone_number_id"], cfg["waba_id"]
        if req.method == "POST" and rest == f"{pid}/messages":
            b = json.loads(req.content)
            assert b.get("messaging_product") == "whatsapp", b
            if b.get("status") == "read":
                return httpx.Response(200, json={"success": True})
            assert b["type"] in b, f"content object {b['type']!r} missing"
            msg = {"id": "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI" + base64.b64encode(os.urandom(12)).decode()}
            if b["type"] == "template":
                msg["message_status"] = "accepted"
            return httpx.Response(200, json={"messaging_product": "whatsapp", "contacts": [{"input": b["to"], "wa_id": re.sub(r"\D", "", b["to"])}], "messages": [msg]})
        if req.method == "POST" and rest == f"{pid}/media":
            body = req.content
            m = re.search(rb'name="type"\r\n\r\n([^\r]+)', body)
            f = re.search(rb'name="file"; filename="[^"]*"\r\nContent-Type: [^\r]+\r\n\r\n', body)
            assert m and f and b'name="messaging_product"' in body, body[:300]
            boundary = req.headers["content-type"].split("boundary=")[1].encode()
            data = body[f.end(): body.index(b"\r\n--" + boundary, f.end())]
            mid = self._id()
            self.media[mid] = (data, m.group(1).decode())
            return httpx.Response(200, json={"id": mid})
        if req.method == "GET" and rest in self.media:
            data, mime = self.media[rest]
            return httpx.Response(200, json={"messaging_product": "whatsapp", "url": f"https://media.emulator.invalid/dl/{rest}",
                                             "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(), "file_size": str(len(data)), "id": rest})
        if req.method == "GET" and rest == pid:
            d = {}
            for name in ("ok_phone_number.json", "ok_phone_number_fields.json"):
                d |= json.loads((CORPUS_DIR / "responses" / name).read_text())
            return httpx.Response(200, json=d | {"id": pid})
        if rest == f"{waba}/message_templates":
            if req.method == "POST":
                b = json.loads(req.content)
                tid = self._id()
                self.templates[tid] = {**b, "id": tid, "status": "APPROVED"}
                return httpx.Response(200, json={"id": tid, "status": "PENDING", "category": b["category"]})
            name = req.url.params.get("name")
            data = [t for t in self.templates.values() if not name or name in t["name"]]
            return httpx.Response(200, json={"data": data, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}},
                                             "summary": {"total_count": len(data), "message_template_count": len(self.templates),
                                                         "message_template_limit": 250, "are_translations_complete": True}})
        return httpx.Response(404, json={"error": {"message": f"fake graph: no route {req.method} {path}", "code": 100}})


def selfcheck(checks: Checks, strict_corpus: bool = False) -> None:
    cfg = {"base_url": "http://emulator.invalid:8080", "api_version": "v26.0", "phone_number_id": "106540352242922",
           "waba_id": "102290129340398", "display_phone_number": "15550783881", "access_token": "EAAtest",
           "app_secret": "s3cret", "verify_token": "vt"}
    log(f"pywa {pywa.__version__}, httpx {httpx.__version__}")

    # 1. every send call against the fake Graph API (checks the calls match the installed pywa)
    recorder: list = []
    fake = FakeGraph(cfg)
    wa = make_client(cfg, inner=httpx.MockTransport(fake.handle), recorder=recorder)
    ctx = Ctx(checks=checks, wa=wa, cfg=cfg, to="16505551234", advance=lambda s: None, live=False)
    run_sends(ctx, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3ODk3QzAzNzQ4MUQ3NENERjYwMgA=")
    graph_calls = [r for r in recorder if r["host"] != "media.emulator.invalid"]
    checks.ok("redirect: Graph calls went to the base URL as /v26.0/... with the bearer token",
              bool(graph_calls) and all(r["host"] == "emulator.invalid" and r["path"].startswith("/v26.0/")
                                        and r["auth"] == "Bearer EAAtest" for r in graph_calls),
              [r for r in graph_calls if r["host"] != "emulator.invalid" or not r["path"].startswith("/v26.0/")][:3])
    if VERBOSE:
        log("---- requests pywa made ----")
        for r in recorder:
            body = r["body"]
            log(f"{r['method']} {r['path']} {r['query'] or ''} [{r['content_type']}] {json.dumps(body, ensure_ascii=False) if body is not None else ''}")
        log("----------------------------")
    bad = make_client(cfg, inner=httpx.MockTransport(fake.handle), token="wrong")
    try:
        bad.send_message("16505551234", "x")
        checks.ok("wrong token -> WhatsAppError 190 (fake graph)", False, "no error")
    except WhatsAppError as e:
        checks.ok("wrong token -> WhatsAppError 190 (fake graph)", e.code == 190, e)

    # 2. the webhook receiver: handshake via pywa, signature via own HMAC + pywa
    receiver = WebhookReceiver().start()
    try:
        receiver.cfg = cfg
        receiver.wa = wa
        receiver.ready.set()
        q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"})
        with urllib.request.urlopen(f"{receiver.url}?{q}", timeout=5) as r:
            checks.ok("receiver echoes hub.challenge", r.status == 200 and r.read() == b"1158201444")
        body = (CORPUS_DIR / "webhooks" / "message_text.json").read_bytes()
        sig = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(receiver.url, data=body, headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        req = urllib.request.Request(receiver.url, data=body, headers={"X-Hub-Signature-256": "sha256=00", "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        posts = receiver.snapshot()
        checks.ok("receiver verifies a good signature", len(posts) == 2 and posts[0]["sig_ok"] and posts[0]["pywa_validator"] is None, posts[:1])
        checks.ok("receiver rejects a bad signature", len(posts) == 2 and not posts[1]["sig_ok"] and posts[1]["pywa_validator"] is not None, posts[1:])
    finally:
        receiver.stop()

    # 3. the webhook corpus through pywa's parser. Informational unless --strict-corpus: the
    #    corpus holds real Meta shapes some of which pywa 4.5.0 cannot parse (pywa's gaps, not ours).
    pwa = WhatsApp(verify_token="vt", app_secret="s3cret", filter_updates=False, skip_duplicate_updates=False)
    parser = PywaParser(pwa)
    files = sorted((CORPUS_DIR / "webhooks").glob("*.json"))
    log(f"parsing {len(files)} corpus webhooks through pywa")
    corpus = checks if strict_corpus else Checks(prefix="REJECTED")
    for f in files:
        check_parsed(corpus, parser, f"corpus {f.name}", f.read_bytes(), strict_warnings=False)
    if not strict_corpus:
        log(f"corpus webhooks: {corpus.passed} item(s) parsed by pywa, {corpus.failed} rejected "
            f"(informational; --strict-corpus counts them)")

    # 4. the response corpus through pywa's response parsers
    resp_dir = CORPUS_DIR / "responses"
    for f in sorted(resp_dir.glob("*.json")):
        d = json.loads(f.read_text())
        n = f"corpus responses/{f.name}"
        if f.name.startswith("ok_send"):
            checks.attempt(f"{n} -> SentMessage/SentTemplate", lambda d=d: _sent_from(wa, d, cfg),
                           lambda r: (WAMID_RE.match(r.id) is not None, r))
        elif f.name.startswith("ok_phone_number") and "list" not in f.name:
            checks.attempt(f"{n} -> BusinessPhoneNumber", lambda d=d: BusinessPhoneNumber.from_dict(d), lambda r: (bool(r.id), r))
        elif f.name == "ok_success.json":
            checks.attempt(f"{n} -> SuccessResult", lambda d=d: SuccessResult.from_dict(d), lambda r: (bool(r), r))
        elif f.name.startswith("error_"):
            checks.attempt(f"{n} -> WhatsAppError", lambda d=d: WhatsAppError.from_dict(error=d["error"]),
                           lambda e: (e.code == d["error"]["code"], f"{type(e).__name__} code={e.code}"))


def _sent_from(wa: WhatsApp, d: dict, cfg: dict) -> SentMessage:
    from pywa.types.sent_update import RecipientType

    inp = d["contacts"][0]["input"]
    rtype = RecipientType.from_recipient(inp)
    cls = SentTemplate if "message_status" in d["messages"][0] else SentMessage
    return cls.from_sent_update(client=wa, update=d, from_phone_id=cfg["phone_number_id"], recipient_type=rtype)


# --------------------------------------------------------------------------------------------


def main() -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--selfcheck", action="store_true", help="no emulator: check pywa calls against a fake Graph API and parse the corpus")
    ap.add_argument("--strict-corpus", action="store_true", help="with --selfcheck: count corpus webhooks pywa rejects as failures")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks (and, with --selfcheck, every request pywa made)")
    ap.add_argument("--timeout", type=float, default=45, help="seconds to wait for webhooks (default 45)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    logging.getLogger("pywa").addHandler(logging.NullHandler())  # no stray console output; PywaParser captures
    checks = Checks()
    try:
        if args.selfcheck:
            selfcheck(checks, strict_corpus=args.strict_corpus)
        else:
            binary = os.environ.get("SWITCHBOARD_BIN") or str(REPO_ROOT / "target" / "debug" / "switchboard")
            if not os.path.isabs(binary) and not os.path.exists(binary):
                binary = str(REPO_ROOT / binary)
            if not os.path.exists(binary):
                log(f"emulator binary not found: {binary} (set SWITCHBOARD_BIN)")
                print("0 passed, 1 failed")
                return 2
            live(checks, binary, args.timeout)
    except Exception as e:  # noqa: BLE001 - a crash in the harness itself is a failure, not a pass
        checks.ok("test harness ran to completion", False, _exc_details(e))
    if checks.failures:
        log(f"\n{len(checks.failures)} failure(s):")
        for f in checks.failures:
            log("  " + f.splitlines()[0])
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
