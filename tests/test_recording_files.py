"""The recordings on disk: honest about their source, free of secrets, in step with their hand-written sources."""
from __future__ import annotations

import json

from helpers.authoring import load_sources
from helpers.recordings import SECRET_HEADERS, RecordingIndex
from helpers.settings import RECORDINGS_DIR

INDEX = RecordingIndex.load(RECORDINGS_DIR)


def test_recordings_load():
    assert len(INDEX) >= 10


def test_no_two_recordings_answer_the_same_request():
    shared = {key: [r.name for r in group] for key, group in INDEX.by_key.items() if len(group) > 1}
    assert not shared, f"recordings that answer the same request (the second would be served on a repeat): {shared}"


def test_every_recording_says_where_it_came_from():
    for rec in INDEX.all():
        kind = rec.source.get("kind")
        assert kind in ("recorded", "handwritten", "captured"), f"{rec.name}: source.kind {kind!r}"
        needed = {"recorded": ("host", "recorded_at"), "handwritten": ("basis", "note", "shaped_after"),
                  "captured": ("capture", "captured_at")}[kind]
        assert all(rec.source.get(k) for k in needed), f"{rec.name}: a {kind} recording needs {needed}"


def test_no_secret_or_account_headers():
    for rec in INDEX.all():
        names = {n.lower() for n in rec.response.get("headers", {})}
        assert not names & set(SECRET_HEADERS), f"{rec.name} keeps {names & set(SECRET_HEADERS)}"
        assert "authorization" not in json.dumps(rec.request).lower()


def test_hand_written_files_match_their_sources():
    on_disk = {r.name: r for r in INDEX.all() if r.source.get("kind") in ("handwritten", "captured")}
    # `make record` replaces a hand-written stand-in with the real exchange, which python -m helpers.authoring then
    # leaves alone: the recording supersedes its source (delete the source when convenient)
    recorded = {r.name for r in INDEX.all() if r.source.get("kind") == "recorded"}
    from_sources = {r.name: r for r in load_sources() if r.name not in recorded}
    assert set(on_disk) == set(from_sources), "run `python -m helpers.authoring` to bring recordings/ up to date"
    for name, rec in from_sources.items():
        assert rec.to_json() == on_disk[name].to_json(), f"{name}.json differs from its source; run python -m helpers.authoring"


def test_two_sources_recording_the_same_request_are_refused(tmp_path):
    import pytest

    body = '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(
            f"from helpers.authoring import chat\nRECORDINGS = [chat('rec-{name}', {body}, 'hello')]\n")
    with pytest.raises(ValueError, match="rec-b records the same request as rec-a"):
        load_sources(tmp_path)
