// SPDX-License-Identifier: AGPL-3.0-or-later
// The repository's docs/*.md, bundled at build time. A page's id is its file
// name without ".md"; its title is its first "# " heading.
const files = import.meta.glob("../../../docs/*.md", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

export interface DocPage { id: string; title: string; source: string }

const order = ["install", "exporters", "filter", "operating", "architecture"];

export const docPages: DocPage[] = Object.entries(files)
  .map(([path, source]) => {
    const id = path.replace(/^.*\//, "").replace(/\.md$/, "");
    const title = /^#\s+(.+)$/m.exec(source)?.[1]?.replace(/^weir:\s*/, "") ?? id;
    return { id, title: title.charAt(0).toUpperCase() + title.slice(1), source };
  })
  .sort((a, b) => {
    const ia = order.indexOf(a.id), ib = order.indexOf(b.id);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.id.localeCompare(b.id);
  });
