"""The client side of the lab daemon's control API (``/snapmigrate-lab/...`` on
its endpoint, served by :meth:`snapmigrate_lab.glue.LabApp.control`): the
realism knobs, injected failures, notes in lab.json, forgetting everything.

:class:`ControlApi` is a mixin of :class:`snapmigrate_lab.Lab`: it needs only
the lab's directory, whose lab.json names the endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab import state as labstate

if TYPE_CHECKING:
    from snapmigrate_lab.realism import Knobs


class ControlApi:
    """Knobs, failures, notes and reset of the lab in ``self.dir``, over HTTP."""

    dir: Path

    def _control(
        self, method: str, route: str, data: dict[str, Any] | None = None, *, timeout: float = 30
    ) -> Any:
        import urllib.error
        import urllib.request

        st = labstate.read(self.dir)
        if st is None:
            raise BadInput(
                f"no lab in {self.dir}: start one with 'snapmigrate lab up --dir {self.dir}'"
            )
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(
            f"{st.endpoint_url}/snapmigrate-lab/{route}",
            data=body if method == "POST" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("error", str(e))
            raise BadInput(f"the lab refused {route}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise OperationFailed(
                f"the lab in {self.dir} does not answer ({e}): is it up?"
            ) from None

    def knobs(self) -> Knobs:
        from snapmigrate_lab.realism import Knobs

        return Knobs.from_dict(self._control("GET", "knobs"))

    def set_knobs(self, **changes: Any) -> Knobs:
        """Change some knobs (the others stay); ``seed=`` restarts the random sequence."""
        from snapmigrate_lab.realism import Knobs

        Knobs.from_dict(changes)  # reject bad input here, with our message
        return Knobs.from_dict(self._control("POST", "knobs", changes))

    def reset_knobs(self) -> Knobs:
        """Back to the knobs the lab was started with."""
        from snapmigrate_lab.realism import Knobs

        return Knobs.from_dict(self._control("POST", "knobs", {"reset": True}))

    def fail_once(
        self,
        action: str,
        code: str = "InternalFailure",
        *,
        after: bool = False,
        status: int | None = None,
        times: int = 1,
        state: str | None = None,
    ) -> Knobs:
        """Make the next call of ``action`` fail (before it acts, or ``after`` it acted);
        with ``state``, let a creation act and its resource end in that failure state
        (``lab.fail_once("RestoreDBClusterFromSnapshot", state="migration-failed")``)."""
        from snapmigrate_lab.realism import FailRule, Knobs

        rule = FailRule(
            action=action, code=code, after=after, status=status, times=times, state=state
        )
        return Knobs.from_dict(self._control("POST", "fail", rule.__dict__))

    def reset(self) -> None:
        """Forget every AWS resource and remove every server and copy (knobs stay)."""
        self._control("POST", "reset")

    def note(self, **data: Any) -> None:
        """Record facts in lab.json's notes (the seed's cluster, the DNS zone)."""
        self._control("POST", "notes", data)
