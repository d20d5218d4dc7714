"""Progress logging with rate and ETA for long jobs."""

import logging
import time
from typing import Callable, Optional


def format_duration(seconds: float) -> str:
  seconds = max(0, int(round(seconds)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f"{hours}h{minutes:02d}m{secs:02d}s"
  if minutes:
    return f"{minutes}m{secs:02d}s"
  return f"{secs}s"


class Progress:
  """Counts work done and logs `done/total, rate, ETA` at most every `interval_s`.

  `total` may be None when unknown (then no ETA). The rate is the mean over the
  whole run, which is what an ETA for a homogeneous job needs; work found already
  done (`skip`: a resumed run's kept results) counts toward the total, not the rate.
  """

  def __init__(self, name: str, total: Optional[float], unit: str = "items",
               interval_s: float = 10.0,
               log_fn: Callable[[str], None] = logging.info,
               clock: Callable[[], float] = time.monotonic):
    self.name = name
    self.total = total
    self.unit = unit
    self.interval_s = interval_s
    self._log_fn = log_fn
    self._clock = clock
    self._start = clock()
    self._last_log = self._start
    self.done = 0.0
    self.skipped = 0.0

  @property
  def elapsed_s(self) -> float:
    return self._clock() - self._start

  @property
  def rate(self) -> float:
    elapsed = self.elapsed_s
    return (self.done - self.skipped) / elapsed if elapsed > 0 else 0.0

  def message(self, extra: str = "") -> str:
    rate = self.rate
    parts = [f"{self.name}: {self.done:.0f}"]
    if self.total:
      parts[0] += f"/{self.total:.0f} ({100.0 * self.done / self.total:.0f}%)"
    parts.append(f"{rate:.1f} {self.unit}/s")
    if self.total and rate > 0:
      parts.append(f"ETA {format_duration((self.total - self.done) / rate)}")
    parts.append(f"elapsed {format_duration(self.elapsed_s)}")
    if extra:
      parts.append(extra)
    return ", ".join(parts)

  def skip(self, amount: float, extra: str = "") -> None:
    """`amount` of the work was already done (kept from an earlier run): logged at once."""
    self.skipped += amount
    self.update(amount, extra, force=True)

  def update(self, amount: float = 1, extra: str = "", force: bool = False) -> None:
    self.done += amount
    now = self._clock()
    if force or now - self._last_log >= self.interval_s:
      self._last_log = now
      self._log_fn(self.message(extra))
