"""What an artifact reviewer looks for first: a licence, a citation with
the paper, a changelog for the version, docs that exist where the README
points, lock files the Makefile really uses."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_citation_names_the_version_and_cites_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == _version()
    refs = cff["references"]
    titles = " ".join(r["title"] for r in refs)
    assert "Multiprocessor Support for an Industrial Operating System Kernel" in titles
    assert any(r.get("doi") == "10.1109/RTCSA.2005.45" for r in refs)
    assert any(str(r.get("number")) == "2005:6" and r.get("issn") == "1103-1581" for r in refs)
    assert any(r.get("journal", "").startswith("International Journal of Computers") for r in refs)
    for r in refs:
        assert [a["family-names"] for a in r["authors"]] == ["Kågström", "Grahn", "Lundberg"]


def test_licence_changelog_and_readme_agree():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert f"## [{_version()}]" in (ROOT / "CHANGELOG.md").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "10.1109/RTCSA.2005.45" in readme and "2005:6" in readme


def test_every_relative_link_in_the_readme_and_docs_exists():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_make_installs_from_the_hashed_lock_files_only():
    make = (ROOT / "Makefile").read_text()
    assert "--require-hashes" in make
    assert not re.search(r"pip install .*-e '?\.\[", make), "an unlocked install of an extra"
    for group in ("run", "test", "lab", "bench", "build", "uv"):
        text = (ROOT / "requirements" / f"{group}.txt").read_text()
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
        assert pins, group
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.strip())
        for block in blocks:
            if re.match(r"[A-Za-z0-9_.-]+==", block):
                assert "--hash=sha256:" in block, f"{group}: {block.splitlines()[0]} has no hash"
    run = (ROOT / "requirements" / "run.txt").read_text()
    for tool in ("pytest", "hypothesis", "nbval", "mypy", "dask"):
        assert not re.search(rf"^{tool}==", run, re.M), f"{tool} in the run group"
    assert re.search(r"^ipykernel==7\.[0-2]\.", run, re.M), "ipykernel >= 7.3 warns at every start"


def test_every_notebook_import_is_in_the_run_group():
    # `make reproduce` executes every notebook with the run group alone
    # installed: a notebook importing a package only the test or lab group
    # brings would fail on a fresh clone (as notebook 12 once did).
    import json
    import sys
    from importlib.metadata import packages_distributions
    dists = packages_distributions()
    run = (ROOT / "requirements" / "run.txt").read_text().lower()
    pinned = {m.group(1).replace("_", "-")
              for m in re.finditer(r"^([a-z0-9_.-]+)==", run, re.M)}
    missing = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for m in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)",
                                 "".join(cell["source"]), re.M):
                mod = m.group(1)
                if mod in sys.stdlib_module_names or mod == "reproduce":
                    continue
                names = {d.lower().replace("_", "-") for d in dists.get(mod, [mod])}
                if not names & pinned:
                    missing.append(f"{nb.name}: {mod}")
    assert not missing, f"imported by notebooks but not in requirements/run.txt: {missing}"
