"""rlsuite's registration, called again inside a test (at import it runs before any test can see it): the ids
it registers and the specs it writes, straight from ``ENV_TABLE``."""

from __future__ import annotations

from gymnasium.envs.registration import registry

import rlsuite.envs as envs


def test_registered_ids_are_the_table_in_order() -> None:
    ids = envs.registered_ids()
    assert ids == list(envs.ENV_TABLE) and ids[0] == "rlsuite/GridWorld-v0"
    assert all(i in registry for i in ids)


def test_register_all_writes_each_missing_spec_from_the_table_and_keeps_the_others() -> None:
    ids = envs.registered_ids()
    removed, kept = ids[::2], ids[1::2]
    saved = {i: registry[i] for i in ids}
    try:
        for i in removed:
            del registry[i]
        envs._register_all()
        for i in kept:
            assert registry[i] is saved[i]  # already registered: left as it was
        for i in removed:
            entry, vector_entry, steps, kwargs, _ = envs.ENV_TABLE[i]
            spec = registry[i]
            assert spec is not saved[i]
            assert (spec.entry_point, spec.vector_entry_point, spec.max_episode_steps, spec.kwargs) == (
                entry, vector_entry, steps, kwargs)  # fmt: skip
    finally:
        registry.update(saved)
