"""Many people written in one transaction, for tests of the coordinator's pages at size."""

from __future__ import annotations

from datetime import timedelta

from matching.extensions import db
from matching.models import (
    Feedback,
    ListenerProfile,
    Meeting,
    PractitionerProfile,
    SupportRequest,
    User,
    now_utc,
)
from tests.conftest import PASSWORD_HASH


class Programme:
    """Writes many people in one transaction (make_user commits one at a time)."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def _user(self, role: str, name: str | None = None, **kw) -> User:
        self.n += 1
        return User(
            email=kw.pop("email", f"{role}-{self.n}@example.org"),
            password_hash=PASSWORD_HASH,
            role=role,
            display_name=name or f"{role.title()} {self.n}",
            timezone=kw.pop("timezone", "UTC"),
        )

    def listeners(self, count: int, *, names: tuple = (), **profile) -> list[int]:
        with self.app.app_context():
            users = []
            for i in range(count):
                user = self._user("listener", names[i] if i < len(names) else None)
                lp = ListenerProfile(
                    languages=["en"],
                    modalities=["video"],
                    organization=f"Org {self.n}",
                    verified_at=now_utc(),
                    training_valid_until=now_utc().date() + timedelta(days=365),
                )
                for key, value in profile.items():
                    setattr(lp, key, value)
                user.listener_profile = lp
                users.append(user)
            db.session.add_all(users)
            db.session.commit()
            return [u.id for u in users]

    def requests(
        self, count: int, *, urgency: str = "routine", note: str = "", days_ago: int = 3
    ) -> list[int]:
        with self.app.app_context():
            ids = []
            for i in range(count):
                user = self._user("practitioner")
                user.practitioner_profile = PractitionerProfile(
                    languages=["en"], modalities=["video"], organization="Hospital"
                )
                db.session.add(user)
                db.session.flush()
                req = SupportRequest(
                    practitioner_id=user.id,
                    urgency=urgency,
                    modalities=["video"],
                    note=note,
                    created_at=now_utc() - timedelta(days=days_ago, minutes=i),
                )
                db.session.add(req)
                db.session.flush()
                ids.append(req.id)
            db.session.commit()
            return ids

    def meetings(
        self, request_ids: list[int], listener_id: int, *, days_ago: int = 2, ratings=()
    ) -> list[int]:
        """One past conversation per request with that listener, rated by the practitioner."""
        with self.app.app_context():
            ids = []
            for i, request_id in enumerate(request_ids):
                req = db.session.get(SupportRequest, request_id)
                start = now_utc().replace(microsecond=0) - timedelta(days=days_ago, hours=i)
                meeting = Meeting(
                    request_id=req.id,
                    practitioner_id=req.practitioner_id,
                    listener_id=listener_id,
                    start_at=start,
                    end_at=start + timedelta(hours=1),
                    status="completed",
                    uid=f"m-{request_id}@test",
                )
                req.status = "closed"
                db.session.add(meeting)
                db.session.flush()
                if i < len(ratings):
                    db.session.add(
                        Feedback(
                            meeting_id=meeting.id,
                            author_id=req.practitioner_id,
                            rating=ratings[i],
                            comment=f"comment {i}",
                        )
                    )
                ids.append(meeting.id)
            db.session.commit()
            return ids
