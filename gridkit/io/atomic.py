"""All of a command's output files, or none: stage beside the target, move in at the end.

A writer asks :func:`staged` for a temporary path beside each target (same
directory, so the final :func:`os.replace` is atomic on one file system),
writes there, and the targets are replaced only when the whole ``with`` block
succeeded. On any error, or an interrupt, the temporary files are removed and
every existing target is left exactly as it was.

Nested use joins the outer set: a library writer (``write_layers``,
``write_table``, ``save_map``) called inside a command's ``with staged():``
stages into the command's set, and nothing moves until the command ends.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with staged() as out:
...     _ = out.path(d / "a.txt").write_text("new")
...     (d / "a.txt").exists()
False
>>> (d / "a.txt").read_text()
'new'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

__all__ = ["OutputSet", "staged"]

_CURRENT: ContextVar[OutputSet | None] = ContextVar("gridkit_output_set", default=None)


class OutputSet:
    """Temporary files standing in for their targets until :meth:`commit`."""

    def __init__(self) -> None:
        self._moves: dict[Path, Path] = {}  # target -> staged file
        self._sidecars: dict[Path, tuple[str, ...]] = {}  # target -> suffixes
        self._dirs: list[Path] = []
        self._made: list[Path] = []  # folders created for targets, removed on discard
        self._external: list[tuple[object, object]] = []  # (commit, discard) of non-files

    def path(self, target: str | os.PathLike, *, keep_existing: bool = False,
             sidecars: tuple[str, ...] = ()) -> Path:
        """A temporary path to write ``target``'s new content to.

        Parameters
        ----------
        target
            The file the content is for. Its folder is created (and removed
            again, when still empty, if the set is discarded).
        keep_existing
            Start the temporary file as a copy of ``target`` (when it exists),
            for writers that add to a file, such as GeoPackage layers.
        sidecars
            Suffixes of files that belong to ``target`` (a shapefile's ``.dbf``,
            ``.prj``...). On commit each one written beside the temporary file
            replaces its counterpart beside ``target``, and each one not
            written is removed there, so no stale sidecar outlives the file.
        """
        target = Path(target).absolute()
        if target in self._moves:
            return self._moves[target]
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        self._made.extend(missing)
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                       dir=target.parent))
        self._dirs.append(tmpdir)
        staged_file = tmpdir / target.name
        if keep_existing and target.is_file():
            shutil.copy2(target, staged_file)
        self._moves[target] = staged_file
        self._sidecars[target] = tuple(sidecars)
        return staged_file

    def untemp(self, text: str) -> str:
        """``text`` (e.g. an error message) with every temporary path replaced by its target."""
        for target, staged_file in self._moves.items():
            text = text.replace(os.fspath(staged_file), os.fspath(target))
            text = text.replace(os.fspath(staged_file.parent), os.fspath(target.parent))
        return text

    def write_error(self, exc: OSError, target: str | os.PathLike) -> OSError:
        """``exc`` as raised for ``target``: the message names it, never the temporary file.

        The ``errno`` is kept, so a full disk stays ``ENOSPC``.
        """
        reason = self.untemp(exc.strerror or " ".join(str(exc).split()))
        message = f"cannot write {os.fspath(target)!r}: {reason}"
        return OSError(message) if exc.errno is None else OSError(exc.errno, message)

    @contextlib.contextmanager
    def writing(self, target: str | os.PathLike) -> Iterator[Path]:
        """The staged path for ``target``; an OSError while writing it names ``target``."""
        try:
            yield self.path(target)
        except OSError as exc:
            raise self.write_error(exc, target) from exc

    def external(self, commit, discard) -> None:
        """Join a target that is not a file (a database table) to the set.

        ``commit()`` is called when the set commits, after the files moved in;
        ``discard()`` when the set is discarded (and never after ``commit``).
        """
        self._external.append((commit, discard))

    def targets(self) -> list[Path]:
        """The files this set will write, in the order they were asked for."""
        return list(self._moves)

    def commit(self) -> None:
        """Move every staged file that was written onto its target."""
        try:
            for target, staged_file in self._moves.items():
                if not staged_file.exists():
                    continue
                os.replace(staged_file, target)
                for suffix in self._sidecars.get(target, ()):
                    produced = staged_file.with_suffix(suffix)
                    old = target.with_suffix(suffix)
                    if produced.exists():
                        os.replace(produced, old)
                    elif old.exists():
                        old.unlink()
            while self._external:
                commit, _ = self._external.pop(0)
                commit()
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove every temporary file; targets stay untouched."""
        while self._external:
            _, discard = self._external.pop()
            with contextlib.suppress(Exception):  # the first error is the one to report
                discard()
        for tmpdir in self._dirs:
            shutil.rmtree(tmpdir, ignore_errors=True)
        # folders made for targets and left empty, deepest first
        for folder in sorted(self._made, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._dirs.clear()
        self._moves.clear()
        self._sidecars.clear()
        self._made.clear()


@contextlib.contextmanager
def staged() -> Iterator[OutputSet]:
    """An :class:`OutputSet` committed when the block succeeds, discarded otherwise.

    Inside another ``staged()`` block this yields the outer set, which
    commits once, at the end of the outermost block.
    """
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    out = OutputSet()
    token = _CURRENT.set(out)
    try:
        yield out
    except BaseException:
        out.discard()
        raise
    else:
        out.commit()
    finally:
        _CURRENT.reset(token)
