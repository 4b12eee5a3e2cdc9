"""Sphinx settings for the course website; scripts/build_book.py stages the pages and runs Sphinx with them.

The one setting to change when the course is published: ``course_repository_url`` below (or, for one build,
``./course.sh book -- -D course_repository_url=https://github.com/OWNER/REPO``). While it is empty the site has
no launch or repository buttons; once set, every notebook page gets a Binder launch button and a link to the
repository. Colab is left out on purpose: it opens a single notebook without the course's ``helpers`` package,
pinned packages or data, so the first cell would fail there.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

# --- the one setting: the public repository, e.g. "https://github.com/OWNER/REPO" ----------------------------
course_repository_url = ""
course_repository_branch = "main"
binderhub_url = "https://mybinder.org"

project = "From EM to VAE"
html_title = "From EM to VAE"
language = "en"

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]     # notebooks jump from a # title to ### exercise headings on purpose
exclude_patterns = ["**.ipynb_checkpoints", "downloads"]   # files to download, not pages

# The committed outputs are shown as they are: nothing is executed at build time.
nb_execution_mode = "off"
# No widget state is saved in the notebooks, so a widget view would show nothing: show the static fallback
# that helpers.widgets.display_with_fallback stores next to it (a PNG and a sentence) instead.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["fit-math.js", "narrow-tables.js", "wide-figures.js"]
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,
    "use_fullscreen_button": True,
    "show_toc_level": 2,
    "navbar_persistent": [],     # pydata-sphinx-theme 0.20 would add a second search field in a top bar
    "footer_content_items": [],  # no "By ..." and copyright lines under every page
}

# MathJax 3 from the site itself: the full TeX bundle (the small one fetches extensions such as boldsymbol at
# run time) and its web fonts, copied from the pinned PyPI package sphinx-mathjax-offline, whose other 22 MB
# (speech, accessibility, the unbundled components) the site does not need.
mathjax_path = "mathjax/tex-chtml-full.js"
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_FILES = ["tex-chtml-full.js", "output/chtml/fonts/woff-v2"]


def launch_settings(repository_url: str, branch: str = "main", binder: str = "https://mybinder.org") -> dict:
    """The theme options that show the launch and repository buttons: none while the URL is unset."""
    if not repository_url:
        return {}
    return {
        "repository_url": repository_url.rstrip("/"),
        "repository_branch": branch,
        "path_to_docs": "",          # a page's path in the site is its notebook's path in the repository
        "use_repository_button": True,
        "launch_buttons": {"binderhub_url": binder, "notebook_interface": "jupyterlab"},
    }


def mathjax_source() -> Path:
    dist = metadata.distribution(MATHJAX_PACKAGE)
    script = next(f for f in dist.files if f.name == "tex-chtml-full.js")
    return Path(dist.locate_file(script)).parent


def apply_launch_settings(app, config) -> None:
    options = launch_settings(config.course_repository_url, config.course_repository_branch,
                              config.binderhub_url)
    config.html_theme_options = {**config.html_theme_options, **options}
    if options:
        app.tags.add("launch")


def copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
        else:
            shutil.copy2(source / name, target / name)


def setup(app):
    app.add_config_value("course_repository_url", course_repository_url, "html")
    app.add_config_value("course_repository_branch", course_repository_branch, "html")
    app.add_config_value("binderhub_url", binderhub_url, "html")
    app.connect("config-inited", apply_launch_settings)
    app.connect("build-finished", copy_mathjax)
