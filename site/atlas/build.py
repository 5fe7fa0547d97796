"""The MkDocs event handlers of the site, bound by site/hooks.py.

The pages are generated in memory (no files are written into the docs folder): on_config reads
every input and adds the taxonomy to the navigation, on_files adds the generated pages, the
downloads and the studies' plots and data files, on_page_markdown gives generated pages their
edit link, on_page_content and on_page_context put the pages' pre-rendered HTML blocks in place
(see pages.Blocks), on_serve watches the inputs. Hooks run after the plugins, so on_page_context
sees the page after search indexed it.

`AtlasHooks(load)` takes the function that reads the inputs: the hook passes the one that reads
the repository, tests pass their own.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from atlas.inputs import InputError, Inputs
from atlas.model import REPO_BRANCH, SiteModel
from atlas.pages import download_files, insert_blocks, render_pages, study_files
from catalog.load import CatalogError

log = logging.getLogger("mkdocs.hooks.atlas")
TAXONOMY_NAV_TITLE = "Taxonomy"


class AtlasHooks:
    def __init__(self, load: Callable[[], Inputs]):
        self.load = load
        self.inputs: Inputs | None = None
        self.blocks: dict[str, list[tuple[bool, str]]] = {}
        self.sources: dict[str, str] = {}  # generated page -> the repository file it comes from
        self.descriptions: dict[str, str] = {}  # generated page -> its meta description
        self.search_keys: dict[str, list[str]] = {}  # generated page -> its search tags
        self.in_nav: set[str] = set()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        try:
            self.inputs = self.load()
        except CatalogError as exc:
            raise PluginError(f"the catalog is invalid; run `latent check` for details.\n{exc}") from None
        except InputError as exc:
            raise PluginError(str(exc)) from None
        config.nav = with_taxonomy(config.nav or [], self.inputs)
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        model = SiteModel(self.inputs, repo_url=config.repo_url)
        rendered = render_pages(model, directory_urls=config.use_directory_urls)
        self.blocks, self.sources = rendered.blocks, rendered.sources
        self.descriptions, self.search_keys = rendered.descriptions, rendered.search_keys
        for src_uri, text in rendered.pages.items():
            if files.get_file_from_path(src_uri) is not None:
                raise PluginError(f"site/docs/{src_uri} would be replaced by a generated page; remove or rename it")
            files.append(File.generated(config, src_uri, content=text))
        for src_uri, data in {**download_files(self.inputs), **study_files(self.inputs.studies)}.items():
            files.append(File.generated(config, src_uri, content=data))
        log.info(f"generated {len(rendered.pages)} pages from {len(model.papers)} papers and {len(self.inputs.results)} runs")
        return files

    def on_nav(self, nav, config: MkDocsConfig, files: Files):
        self.in_nav = {page.file.src_uri for page in nav.pages}
        return nav

    def on_env(self, env, config: MkDocsConfig, files: Files):
        """Globals for site/overrides/main.html: a fresh cache of navigation HTML for this build."""
        in_nav = self.in_nav

        def atlas_nav_key(page) -> str | None:
            if page is None or page.file.src_uri in in_nav:
                return None
            return str(page.url.count("/"))

        env.globals["atlas_nav_key"] = atlas_nav_key
        env.globals["atlas_nav_cache"] = {}
        return env

    def on_page_markdown(self, markdown: str, page, config: MkDocsConfig, files: Files) -> str:
        """A generated page's edit link opens the repository file it is generated from; its meta
        description is its summary (escaped here: the theme puts it into an attribute as is); a
        paper's search keys (arXiv id, first author, ...) become its search tags."""
        description = self.descriptions.get(page.file.src_uri)
        if description:
            page.meta["description"] = html.escape(description, quote=True)
        keys = self.search_keys.get(page.file.src_uri)
        if keys:
            page.meta["tags"] = keys  # the search index weighs tags most (no tags plugin: not shown on the page)
        source = self.sources.get(page.file.src_uri)
        if source and config.repo_url and config.edit_uri:
            page.edit_url = f"{config.repo_url.rstrip('/')}/edit/{REPO_BRANCH}/{source}"
        elif page.file.generated_by is not None:
            page.edit_url = None  # MkDocs would point it at a file that does not exist
        return markdown

    def on_page_content(self, html: str, page, config: MkDocsConfig, files: Files) -> str:
        """Put the page's HTML blocks in place, except those kept out of the search index."""
        blocks = self.blocks.get(page.file.src_uri)
        return insert_blocks(html, blocks, indexed=True) if blocks else html

    def on_page_context(self, context: dict, page, config: MkDocsConfig, nav) -> dict:
        """After the search plugin has indexed the page: put the remaining blocks in place."""
        blocks = self.blocks.get(page.file.src_uri)
        if blocks:
            page.content = insert_blocks(page.content, blocks, indexed=False)
        return context

    def on_serve(self, server, config: MkDocsConfig, builder):
        for path in self.inputs.watch:
            server.watch(str(path))
        return server


def with_taxonomy(nav: list, inputs: Inputs) -> list:
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
