"""The output files of a stylise run: one per input, named like it, and what happened to each input."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from stylenet.imageio import Picture, save_picture


def output_targets(inputs: Iterable[Path], output_dir: Path) -> tuple[list[tuple[Path, Path]], dict[Path, str]]:
    """``(input, output_dir / input.name)`` pairs, and the inputs whose output name an earlier input took
    (with a one-line message naming both)."""
    pairs: list[tuple[Path, Path]] = []
    clashes: dict[Path, str] = {}
    claimed: dict[Path, Path] = {}
    for source in inputs:
        target = output_dir / source.name
        if target in claimed:
            clashes[source] = f"{source}: output name {target} is already taken by {claimed[target]}"
        else:
            claimed[target] = source
            pairs.append((source, target))
    return pairs, clashes


def notify(line: str) -> None:
    """Print one line to stderr without breaking a progress bar."""
    tqdm.write(line, file=sys.stderr)


@dataclass
class Summary:
    """What happened to each input: written (the outputs), skipped (the output existed) or failed (why)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)

    def save(self, source: Path, target: Path, picture: Picture) -> None:
        """Write the stylised ``picture`` of ``source`` to ``target`` (atomically) and record it; prints what the
        format could not hold."""
        try:
            notes = save_picture(picture, target)
        except (OSError, ValueError) as error:
            self.failed[source] = f"{source}: cannot write {target} ({error})"
            return
        self.written.append(target)
        for note in notes:
            notify(f"{source}: {note}")

    @classmethod
    def merged(cls, parts: Iterable[Summary]) -> Summary:
        """One summary of several (e.g. one per process), in file order."""
        parts = list(parts)
        return cls(
            sorted(path for part in parts for path in part.written),
            sorted(path for part in parts for path in part.skipped),
            dict(sorted(item for part in parts for item in part.failed.items())),
        )

    def report(self, done: str = "stylised") -> str:
        lines = [f"{done} {len(self.written)}, skipped {len(self.skipped)}, failed {len(self.failed)}"]
        if self.skipped:
            lines.append("skipped (output exists; --overwrite replaces it): " + ", ".join(map(str, self.skipped)))
        lines += [f"failed: {message}" for message in self.failed.values()]
        return "\n".join(lines)
