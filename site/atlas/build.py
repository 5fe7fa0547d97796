"""MkDocs hook: generates the catalog and results pages at build time.

MkDocs imports this file with site/ on sys.path, so the helper modules next to it (atlas_*.py)
are imported here, at the top. The pages are generated in memory (no files are written into
the docs folder): on_config reads every input and adds the taxonomy to the navigation,
on_files adds the generated pages and downloads, on_page_content and on_page_context put
the pages' pre-rendered HTML blocks in place (see atlas_pages.Blocks), on_serve watches the
inputs. Hooks run after the plugins, so on_page_context sees the page after search indexed it.
"""

from __future__ import annotations

import html
import logging

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from atlas_inputs import Inputs, InputError, load_inputs
from atlas_model import SiteModel
from atlas_pages import download_files, insert_blocks, render_pages
from catalog.load import CatalogError

log = logging.getLogger("mkdocs.hooks.atlas")
TAXONOMY_NAV_TITLE = "Taxonomy"

_state: dict = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    try:
        inputs = load_inputs()
    except CatalogError as exc:
        raise PluginError(f"the catalog is invalid; run `latent check` for details.\n{exc}") from None
    except InputError as exc:
        raise PluginError(str(exc)) from None
    _state["inputs"] = inputs
    config.nav = _with_taxonomy(config.nav or [], inputs)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    model = SiteModel(_state["inputs"])
    pages, _state["blocks"] = render_pages(model, directory_urls=config.use_directory_urls)
    for src_uri, text in pages.items():
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"site/docs/{src_uri} would be replaced by a generated page; remove or rename it")
        files.append(File.generated(config, src_uri, content=text))
    for src_uri, data in download_files(_state["inputs"]).items():
        files.append(File.generated(config, src_uri, content=data))
    log.info(f"generated {len(pages)} pages from {len(model.papers)} papers and {len(model.inputs.results)} runs")
    return files


def on_nav(nav, config: MkDocsConfig, files: Files):
    _state["in_nav"] = {page.file.src_uri for page in nav.pages}
    return nav


def on_env(env, config: MkDocsConfig, files: Files):
    """Globals for site/overrides/main.html: a fresh cache of navigation HTML for this build."""
    in_nav = _state.get("in_nav", set())

    def atlas_nav_key(page) -> str | None:
        if page is None or page.file.src_uri in in_nav:
            return None
        return str(page.url.count("/"))

    env.globals["atlas_nav_key"] = atlas_nav_key
    env.globals["atlas_nav_cache"] = {}
    return env


def on_page_content(html: str, page, config: MkDocsConfig, files: Files) -> str:
    """Put the page's HTML blocks in place, except those kept out of the search index."""
    blocks = _state["blocks"].get(page.file.src_uri)
    return insert_blocks(html, blocks, indexed=True) if blocks else html


def on_page_context(context: dict, page, config: MkDocsConfig, nav) -> dict:
    """After the search plugin has indexed the page: put the remaining blocks in place."""
    blocks = _state["blocks"].get(page.file.src_uri)
    if blocks:
        page.content = insert_blocks(page.content, blocks, indexed=False)
    return context


def on_serve(server, config: MkDocsConfig, builder):
    for path in _state["inputs"].watch:
        server.watch(str(path))
    return server


def _with_taxonomy(nav: list, inputs: Inputs) -> list:
    """Replace the nav entry titled 'Taxonomy' with the whole tree (overview first)."""
    taxonomy = inputs.catalog.taxonomy

    def section(node_id: str) -> dict:
        node = taxonomy.nodes[node_id]
        title = html.escape(node.name)  # nav titles are rendered as HTML by the theme
        page = f"taxonomy/{node_id}/index.md"
        if not node.children:
            return {title: page}
        return {title: [page, *(section(child) for child in node.children)]}

    out = []
    for item in nav:
        if isinstance(item, dict) and TAXONOMY_NAV_TITLE in item:
            out.append({TAXONOMY_NAV_TITLE: ["taxonomy/index.md", *(section(r) for r in taxonomy.roots)]})
        else:
            out.append(item)
    return out
