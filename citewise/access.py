"""Who may do what on a team server: API tokens, accounts, sign-in sessions and the audit log.

Why here and in SQLite: every replica of a server must see the same tokens, sessions and audit
trail, and survive restarts; the store's folder (or ``CITEWISE_AUTH_DB``, one file the replicas
share) holds them. Nothing is home-made crypto: tokens are 256-bit random values (``secrets``)
kept only as salted SHA-256 digests and compared with ``hmac.compare_digest``; passwords are
argon2id hashes (argon2-cffi); a session id is random and kept only as its digest.

Roles are ordered: ``reader`` (ask, see documents and sources) < ``editor`` (also upload,
replace, delete) < ``admin`` (also tokens, accounts and the audit log).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from citewise.sqlite_file import SqliteFile
from rag.errors import InputError, NotFoundError

ROLES = ("reader", "editor", "admin")
RANK = {role: n for n, role in enumerate(ROLES)}
TOKEN_PREFIX = "cw_"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, salt TEXT NOT NULL,
    digest TEXT NOT NULL, created REAL NOT NULL, revoked REAL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, pwhash TEXT NOT NULL, created REAL NOT NULL,
    removed REAL);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL, ended REAL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, before TEXT NOT NULL,
    after TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Identity:
    """Who made a request: a name, a role, and how they got in (token, user, proxy, open)."""

    name: str
    role: str
    kind: str
    subject: str = ""  # the token id or account name a session or request stands for

    def may(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    @property
    def key(self) -> str:
        """What rate limits count by: one token, one account, one proxy user."""
        return f"{self.kind}:{self.subject or self.name}"


@dataclass
class TokenInfo:
    id: str
    name: str
    role: str
    created: float
    revoked: float | None


@dataclass
class AuditEntry:
    id: int
    at: float
    who: str
    role: str
    action: str
    target: str
    before: str
    after: str
    client: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_role(role: str) -> str:
    if role not in RANK:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def day_start(day: str, what: str = "since") -> float:
    """The first second (UTC) of ``day`` (YYYY-MM-DD), 0 for none: where an audit listing
    starts."""
    import datetime as dt

    from rag.retrieval.filters import parse_day

    if not day:
        return 0.0
    return dt.datetime.fromisoformat(parse_day(day, what)).replace(tzinfo=dt.UTC).timestamp()


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


class AccessStore:
    """Tokens, accounts, sessions and the audit log, in one SQLite file (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = SqliteFile(self.path, SCHEMA, "the sign-in store", "CITEWISE_AUTH_DB")
        self._hasher: Any = None

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.db()

    # ---- tokens ------------------------------------------------------------------------------
    def create_token(self, name: str, role: str) -> tuple[TokenInfo, str]:
        """A new token; the secret is returned once and never stored."""
        check_role(role)
        name = name.strip()
        if not name:
            raise InputError("A token needs a --name saying who or what uses it.")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = time.time()
        with self._db() as con:
            con.execute("INSERT INTO tokens VALUES (?,?,?,?,?,?,NULL)",
                        (token_id, name, role, salt, _digest(salt, secret), now))
        return TokenInfo(token_id, name, role, now, None), f"{TOKEN_PREFIX}{token_id}_{secret}"

    def tokens(self) -> list[TokenInfo]:
        with self._db() as con:
            rows = con.execute("SELECT id, name, role, created, revoked FROM tokens "
                               "ORDER BY created").fetchall()
        return [TokenInfo(*r) for r in rows]

    def revoke_token(self, key: str) -> TokenInfo:
        """Revoke by id or by name (a name must be unique among live tokens)."""
        live = [t for t in self.tokens() if t.revoked is None and key in (t.id, t.name)]
        if not live:
            raise NotFoundError(f"No live token {key!r}; `citewise token list` shows them.")
        if len(live) > 1:
            raise InputError(f"{len(live)} live tokens are named {key!r}; revoke one by its id.")
        with self._db() as con:
            con.execute("UPDATE tokens SET revoked=? WHERE id=?", (time.time(), live[0].id))
            con.execute("UPDATE sessions SET ended=? WHERE kind='token' AND subject=? AND "
                        "ended IS NULL", (time.time(), live[0].id))
        return live[0]

    def check_token(self, token: str) -> Identity | None:
        """The identity of a live token, else None (the same work for a wrong secret)."""
        if not token.startswith(TOKEN_PREFIX) or "_" not in token[len(TOKEN_PREFIX):]:
            return None
        token_id, secret = token[len(TOKEN_PREFIX):].split("_", 1)
        with self._db() as con:
            row = con.execute("SELECT name, role, salt, digest, revoked FROM tokens WHERE id=?",
                              (token_id,)).fetchone()
        salt, digest = (row[2], row[3]) if row else ("0" * 32, "0" * 64)
        ok = hmac.compare_digest(_digest(salt, secret), digest)
        if row is None or not ok or row[4] is not None:
            return None
        return Identity(row[0], row[1], "token", token_id)

    # ---- accounts ----------------------------------------------------------------------------
    def _ph(self) -> Any:
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher()
        return self._hasher

    def add_user(self, name: str, role: str, password: str) -> None:
        check_role(role)
        name = name.strip()
        if not name or len(name) > 100 or any(c.isspace() for c in name):
            raise InputError("A user name is 1-100 characters without spaces.")
        if len(password) < 8:
            raise InputError("A password needs at least 8 characters.")
        pwhash = self._ph().hash(password)
        with self._db() as con:
            row = con.execute("SELECT removed FROM users WHERE name=?", (name,)).fetchone()
            if row is not None and row[0] is None:
                raise InputError(f"User {name!r} exists; remove it first or pick another name.")
            con.execute("INSERT OR REPLACE INTO users VALUES (?,?,?,?,NULL)",
                        (name, role, pwhash, time.time()))

    def users(self) -> list[tuple[str, str]]:
        with self._db() as con:
            return [(r[0], r[1]) for r in con.execute(
                "SELECT name, role FROM users WHERE removed IS NULL ORDER BY name")]

    def remove_user(self, name: str) -> None:
        with self._db() as con:
            cur = con.execute("UPDATE users SET removed=? WHERE name=? AND removed IS NULL",
                              (time.time(), name))
            if cur.rowcount == 0:
                raise NotFoundError(f"No user {name!r}; `citewise user list` shows them.")
            con.execute("UPDATE sessions SET ended=? WHERE kind='user' AND subject=? AND "
                        "ended IS NULL", (time.time(), name))

    def check_password(self, name: str, password: str) -> Identity | None:
        from argon2.exceptions import Argon2Error

        with self._db() as con:
            row = con.execute("SELECT role, pwhash FROM users WHERE name=? AND removed IS NULL",
                              (name,)).fetchone()
        ph = self._ph()
        try:  # an unknown name costs the same as a wrong password
            ph.verify(row[1] if row else _dummy_hash(ph), password)
        except Argon2Error:
            return None
        return Identity(name, row[0], "user", name) if row else None

    # ---- sessions ----------------------------------------------------------------------------
    def new_session(self, who: Identity, ttl: float) -> str:
        session = secrets.token_urlsafe(32)
        now = time.time()
        with self._db() as con:
            con.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,NULL)",
                        (_digest("session", session), who.name, who.role, who.kind,
                         who.subject, now, now + ttl))
        return session

    def session(self, session: str) -> Identity | None:
        """The identity of a live session (not ended, not expired, its token or account still
        live), else None."""
        with self._db() as con:
            row = con.execute(
                "SELECT name, role, kind, subject FROM sessions WHERE digest=? AND ended IS NULL "
                "AND expires > ?", (_digest("session", session), time.time())).fetchone()
        return Identity(row[0], row[1], row[2], row[3]) if row else None

    def end_session(self, session: str) -> None:
        with self._db() as con:
            con.execute("UPDATE sessions SET ended=? WHERE digest=?",
                        (time.time(), _digest("session", session)))

    # ---- audit -------------------------------------------------------------------------------
    def audit(self, who: Identity, action: str, target: str, before: str = "", after: str = "",
              client: str = "", detail: dict[str, Any] | None = None) -> None:
        with self._db() as con:
            con.execute(
                "INSERT INTO audit (at, who, role, action, target, before, after, client, detail) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (time.time(), f"{who.kind}:{who.name}", who.role, action, target, before, after,
                 client, json.dumps(detail or {}, ensure_ascii=False)))

    def audit_log(self, since: float = 0.0) -> list[AuditEntry]:
        with self._db() as con:
            rows = con.execute("SELECT * FROM audit WHERE at >= ? ORDER BY id", (since,))
            return [AuditEntry(*r) for r in rows]


_DUMMY: dict[int, str] = {}


def _dummy_hash(ph: Any) -> str:
    if id(ph) not in _DUMMY:
        _DUMMY[id(ph)] = ph.hash(secrets.token_hex(16))
    return _DUMMY[id(ph)]
