"""A small inline policy and list directory for the gateway tests."""

from __future__ import annotations

from pathlib import Path

from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot

POLICY = """
schema_version: 1
school: {id: test-school, name: Test School, policy_title: Online Safety Policy}
groups:
  - {id: pupils, kind: pupil, title: Pupils, agreement_required: false}
  - {id: sixth-form, kind: pupil, title: Sixth form, agreement_required: false}
  - {id: staff, kind: staff, title: Staff, safe_search: false, agreement_required: false}
filtering:
  default_group: pupils
  block_response: {block_response}
rules:
  - id: no-adult-content
    groups: [all]
    categories: [pornography, gambling]
    action: block
    source: {section: "4.2 Filtering", quote: "Access to inappropriate sites is blocked"}
  - id: pupils-no-games
    groups: [pupils]
    categories: [games]
    action: block
    source: {section: "4.2 Filtering", quote: "Pupils may not play games"}
safe_search:
  groups: [pupils, sixth-form]
  youtube: {youtube}
nominated_users: [investigator]
"""

LISTS = {
    "porn.txt": ("pornography", ["adult-site.test", "blocked.example"]),
    "gambling.txt": ("gambling", ["bets.example"]),
    "games.txt": ("games", ["games.example"]),
}


def write_lists(directory: Path, lists: dict[str, tuple[str, list[str]]] | None = None) -> Path:
    """A list folder with `lists.yaml`: file name -> (category, hosts); `LISTS` by default."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = ["lists:"]
    for filename, (category, hosts) in (lists or LISTS).items():
        (directory / filename).write_text("\n".join(hosts) + "\n")
        manifest.append(f"  - {{file: {filename}, format: plain, category: {category}}}")
    (directory / "lists.yaml").write_text("\n".join(manifest) + "\n")
    return directory


def make_snapshot(
    tmp_path: Path, block_response: str = "block-page", youtube: str = "strict"
) -> Snapshot:
    text = POLICY.replace("{block_response}", block_response).replace("{youtube}", youtube)
    policy = parse_policy(text, "test-school.yaml")
    return compile_snapshot(policy, [write_lists(tmp_path / "lists")])
