"""List importers: UT1 trees, hosts, plain, adblock and hashed lists, and `lists.yaml` manifests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from schoolgate.engine.lists.importers import (
    ListFormatError,
    import_adblock,
    import_hashed,
    import_hosts,
    import_list_dir,
    import_plain,
    import_ut1,
)
from schoolgate.engine.lists.index import CategoryIndex, hash_key
from schoolgate.engine.targets import parse_target
from tests.conftest import DATA, UT1


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _cats(index: CategoryIndex, url: str) -> set[str]:
    return set(index.categories_for(parse_target(url)))


# --- UT1 ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ut1_index() -> tuple[CategoryIndex, object]:
    index = CategoryIndex()
    report = import_ut1(UT1, index)
    return index, report


def test_full_ut1_set_imports_with_counts(ut1_index) -> None:
    index, report = ut1_index
    counts = index.counts()
    assert counts["domains"] > 360_000
    # malware/urls and phishing/urls share most entries: one prefix, two category bits.
    assert counts["urls"] > 24_000
    assert sum(f.added for f in report.files if f.format == "urls") > 43_000
    assert report.added > 400_000
    # The shared copy has three invalid host names (`.afshin.ir` style is accepted as a domain).
    assert report.skipped < 10
    assert any("liste_blanche" in line for line in report.ignored)
    assert {"pornography", "gambling", "proxy", "drugs", "hate-speech"} <= report.categories


@pytest.mark.parametrize(
    "url, category",
    [
        ("14words.com", "hate-speech"),  # agressif
        ("www.14words.com", "violence"),  # `violence` is a pointer to agressif
        ("https://WWW.PokerStars.COM./", "gambling"),
        ("020sextoy.com/sk/item", "pornography"),  # adult/urls; `porn` points at adult
        ("129.105.212.34/~abutz", "hate-speech"),  # URL entry on an IP host
        ("118.123.4.224", "hate-speech"),  # IP address in a domains file
        ("afshin.ir", "dynamic-dns"),  # listed as `.afshin.ir`
    ],
)
def test_known_ut1_entries(ut1_index, url: str, category: str) -> None:
    index, _ = ut1_index
    assert category in _cats(index, url)


def test_ut1_url_entries_match_on_path_boundaries(ut1_index) -> None:
    index, _ = ut1_index
    assert "hate-speech" in _cats(index, "http://129.105.212.34/~abutz/page.html")
    assert "hate-speech" not in _cats(index, "http://129.105.212.34/~abutzzz")
    assert "hate-speech" not in _cats(index, "http://129.105.212.34/")


def test_ut1_drug_and_proxy_aliases(ut1_index) -> None:
    index, _ = ut1_index
    drug = (UT1 / "drogue" / "domains").read_text().split()[10]
    proxy = (UT1 / "redirector" / "domains").read_text().split()[100]
    assert "drugs" in _cats(index, "sub." + drug)
    assert "proxy" in _cats(index, proxy)


def _tiny_ut1(root: Path) -> Path:
    base = root / "blacklists"
    _write(base / "gambling" / "domains", "bet.example\n# a comment\n\n")
    _write(base / "gambling" / "usage", "black\n")
    _write(base / "agressif" / "domains", "hate.example\n")
    _write(base / "aggressive", "agressif\n")  # pointer file left by a copy that lost links
    os.symlink("agressif", base / "violence")
    _write(base / "liste_blanche" / "domains", "good.example\n")
    _write(base / "brand_new_category" / "domains", "new.example\n")
    return root


def test_ut1_symlinks_pointer_files_and_unknown_names(tmp_path: Path) -> None:
    index = CategoryIndex()
    report = import_ut1(_tiny_ut1(tmp_path / "ut1"), index)
    assert _cats(index, "a.bet.example") == {"gambling"}
    assert _cats(index, "hate.example") == {"hate-speech", "violence"}
    assert _cats(index, "good.example") == set()
    assert _cats(index, "new.example") == set()
    assert any("brand_new_category" in line and "category_map" in line for line in report.ignored)


def test_category_map_overrides_ut1_names(tmp_path: Path) -> None:
    index = CategoryIndex()
    mapping = {"brand_new_category": "games", "violence": "extremism"}
    import_ut1(_tiny_ut1(tmp_path / "ut1"), index, mapping)
    assert _cats(index, "new.example") == {"games"}
    assert _cats(index, "hate.example") == {"hate-speech", "extremism"}


def test_bad_ut1_file_leaves_index_untouched(tmp_path: Path) -> None:
    root = _tiny_ut1(tmp_path / "ut1")
    _write(root / "blacklists" / "agressif" / "domains", b"fine.example\n\x00\x01\x02garbage")
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=r"agressif/domains:2: binary data"):
        import_ut1(root, index)
    assert index.domains == {}


def test_ut1_expressions_must_compile(tmp_path: Path) -> None:
    root = _tiny_ut1(tmp_path / "ut1")
    _write(root / "blacklists" / "gambling" / "expressions", "casino\n[unclosed\n")
    with pytest.raises(ListFormatError, match=r"gambling/expressions:2: invalid regular"):
        import_ut1(root, CategoryIndex())


# --- hosts -------------------------------------------------------------------------------------


def test_blocklistproject_hosts_file_matches_its_header_count() -> None:
    index = CategoryIndex()
    report = import_hosts(DATA / "blocklistproject" / "drugs.txt", "drugs", index)
    assert report.added == 26_029  # "# Entries: 26,029" in the file's header
    assert report.skipped == 0
    assert _cats(index, "www.001kanpou.com") == {"drugs"}


def test_hosts_skips_local_names_and_counts_them(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "hosts",
        "127.0.0.1 localhost\n::1 localhost ip6-localhost\n0.0.0.0 0.0.0.0\n"
        "0.0.0.0 a.example b.example # two names\n0.0.0.0\n0.0.0.0 bad_-.-host\n",
    )
    index = CategoryIndex()
    report = import_hosts(path, "gambling", index)
    assert report.added == 2
    file = report.files[0]
    assert file.skip_reasons["local host name"] == 4
    assert file.skip_reasons["IP address without host name"] == 1
    assert [s.line for s in file.examples][-1] == 6
    assert _cats(index, "b.example") == {"gambling"}


def test_file_that_is_not_a_hosts_list_is_an_error(tmp_path: Path) -> None:
    lines = [f"0.0.0.0 ok{i}.example" for i in range(50)] + ["not a hosts line"] * 30
    path = _write(tmp_path / "hosts", "\n".join(lines))
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=r"hosts:51: 30 of 80 lines are invalid"):
        import_hosts(path, "gambling", index)
    assert index.domains == {}


def test_non_utf8_list_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.txt", b"a.example\nb.example\n\xff\xfe.example\n")
    with pytest.raises(ListFormatError, match=r"list.txt:3: not UTF-8"):
        import_plain(path, "gambling", CategoryIndex())


def test_unknown_category_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.txt", "a.example\n")
    with pytest.raises(ListFormatError, match="unknown Schoolgate category 'bingo'"):
        import_plain(path, "bingo", CategoryIndex())


# --- plain and adblock -------------------------------------------------------------------------


def test_doh_domain_and_ip_lists() -> None:
    index = CategoryIndex()
    import_plain(DATA / "doh-servers" / "doh-domains.txt", "doh", index)
    report = import_plain(DATA / "doh-servers" / "doh-ipv4.txt", "doh", index)
    report6 = import_plain(DATA / "doh-servers" / "doh-ipv6.txt", "doh", index)
    assert report.added > 1_000 and report6.added > 1_000
    assert _cats(index, "https://1.1.1.1/dns-query") == {"doh"}
    assert _cats(index, "https://[2001:148f:fffe:0::1]/dns-query") == {"doh"}
    assert _cats(index, "0ms.dev") == {"doh"}


def test_vpn_list_mixing_plain_and_adblock_lines() -> None:
    index = CategoryIndex()
    report = import_plain(DATA / "vpn-proxy-hosts/input/hostname_only/misc.txt", "vpn", index)
    assert report.skipped == 0
    assert _cats(index, "www.1clickvpn.com") == {"vpn"}  # from `||1clickvpn.com^`


def test_adblock_rules(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "filters.txt",
        "[Adblock Plus 2.0]\n! Title: test\n||ads.example^\n||tracker.example^$third-party\n"
        "@@||ok.example^\nexample.com##.banner\n/bann?er/\n||cdn.example/path^\n"
        "plain.example\n||wild*.example^\n||comment.example^ # trailing comment\n",
    )
    index = CategoryIndex()
    report = import_adblock(path, "advertising", index)
    assert report.added == 4
    reasons = report.files[0].skip_reasons
    assert reasons["exception rule (@@) not supported"] == 1
    assert reasons["cosmetic rule"] == 1
    assert reasons["regular-expression rule not supported"] == 1
    assert reasons["rule with $options (not a whole-site rule)"] == 1
    assert sum(reasons.values()) == 5
    assert _cats(index, "x.ads.example") == {"advertising"}
    assert _cats(index, "cdn.example/path/a.js") == {"advertising"}
    assert _cats(index, "cdn.example/other") == set()
    assert _cats(index, "tracker.example") == set()


# --- hashed ------------------------------------------------------------------------------------


def _digest(url: str) -> str:
    return hashlib.sha256(hash_key(parse_target(url)).encode()).hexdigest()


def test_generated_hashed_list_matches_hosts_and_url_prefixes(tmp_path: Path) -> None:
    listed = ["abuse.example", "host.example/dir/page", "Q.EXAMPLE/p?id=7"]
    text = "# generated\n" + "\n".join(_digest(u).upper() for u in listed) + "\n"
    path = _write(tmp_path / "iwf.txt", text)
    index = CategoryIndex()
    report = import_hashed(path, "child-sexual-abuse", index)
    assert report.added == 3
    assert "abuse.example" not in path.read_text()  # the list never holds the clear text
    csa = {"child-sexual-abuse"}
    assert _cats(index, "https://www.ABUSE.example./anything") == csa
    assert _cats(index, "http://host.example/dir/page/") == csa
    assert _cats(index, "http://host.example/dir/page/deeper?x=1") == csa
    assert _cats(index, "http://host.example/dir/") == set()
    assert _cats(index, "http://host.example/dir/pages") == set()
    assert _cats(index, "q.example/p?id=7") == csa
    assert _cats(index, "q.example/p?id=8") == set()


def test_hashed_list_with_a_bad_line_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "ctiru.txt", _digest("a.example") + "\nnot-a-digest\n")
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=r"ctiru.txt:2: not a hex SHA-256 digest"):
        import_hashed(path, "terrorism", index)
    assert index.hashed == {}


# --- manifests ---------------------------------------------------------------------------------


def _manifest_dir(root: Path, extra: str = "") -> Path:
    _write(root / "gambling.hosts", "0.0.0.0 casino.example\n")
    _write(root / "doh.txt", "dns.example\n")
    _write(root / "iwf.sha256", _digest("bad.example") + "\n")
    _tiny_ut1(root / "ut1")
    _write(
        root / "lists.yaml",
        "lists:\n"
        "  - {file: gambling.hosts, format: hosts, category: gambling}\n"
        "  - {file: doh.txt, format: plain, category: doh}\n"
        "  - {file: iwf.sha256, format: hashed, category: child-sexual-abuse}\n"
        "  - {file: ut1, format: ut1}\n" + extra,
    )
    return root


def test_manifest_directory_imports_every_list(tmp_path: Path) -> None:
    index = CategoryIndex()
    report = import_list_dir(_manifest_dir(tmp_path / "lists"), index)
    assert _cats(index, "casino.example") == {"gambling"}
    assert _cats(index, "dns.example") == {"doh"}
    assert _cats(index, "bad.example") == {"child-sexual-abuse"}
    assert _cats(index, "hate.example") == {"hate-speech", "violence"}
    assert report.added == 5


@pytest.mark.parametrize(
    "extra, message",
    [
        ("  - {file: doh.txt, format: csv, category: doh}\n", r"lists.yaml:6: format must be"),
        ("  - {file: gone.txt, format: plain, category: doh}\n", r"lists.yaml:6: 'gone.txt'"),
        ("  - {file: doh.txt, format: plain, category: bingo}\n", r"lists.yaml:6: unknown categ"),
        ("  - {file: doh.txt, format: plain}\n", r"lists.yaml:6: a plain list needs `category"),
        ("  - {file: doh.txt, format: plain, category: doh, x: 1}\n", r"lists.yaml:6: unknown k"),
    ],
)
def test_bad_manifest_entries_name_the_line(tmp_path: Path, extra: str, message: str) -> None:
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=message):
        import_list_dir(_manifest_dir(tmp_path / "lists", extra), index)
    assert index.domains == {}


def test_manifest_is_all_or_nothing(tmp_path: Path) -> None:
    root = _manifest_dir(tmp_path / "lists")
    _write(root / "iwf.sha256", "xyz\n")
    index = CategoryIndex()
    with pytest.raises(ListFormatError, match=r"iwf.sha256:1"):
        import_list_dir(root, index)
    assert index.domains == {} and index.categories == []


def test_directory_that_is_neither_format(tmp_path: Path) -> None:
    _write(tmp_path / "readme.txt", "hello\n")
    with pytest.raises(ListFormatError, match="neither a UT1 tree nor a directory with lists"):
        import_list_dir(tmp_path, CategoryIndex())
