"""Models load once per process, also when a command starts loading them in the background."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from retrieval.loading import load_models_ahead, loaded_once


def test_a_caller_during_a_load_waits_for_it_instead_of_loading_again(tmp_path: Path) -> None:
    loads: list[Path] = []
    started = threading.Event()

    @loaded_once
    def slow_model(folder: Path) -> object:
        loads.append(folder)
        started.set()
        time.sleep(0.2)  # long enough for the second caller to arrive while this load runs
        return object()

    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(slow_model(tmp_path)))
    first.start()
    started.wait()
    second = slow_model(tmp_path)
    first.join()
    assert loads == [tmp_path]
    assert results == [second]


def test_a_failed_load_ahead_is_logged_quietly_and_left_to_the_command(tmp_path: Path, caplog, capsys) -> None:
    missing = tmp_path / "not-a-folder-of-models.txt"
    missing.write_text("a file where the model folder should be")
    with caplog.at_level(logging.DEBUG, logger="retrieval.loading"):
        load_models_ahead(missing).join()
    assert "loading the models ahead failed" in caplog.text
    assert capsys.readouterr().err == ""  # no thread traceback on the user's terminal
