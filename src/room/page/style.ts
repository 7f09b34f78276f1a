/**
 * The waiting page's CSS, inlined by the `{{> style}}` partial: no fonts or images to fetch (the page
 * must not add load to a site that is already queueing), WCAG AA contrast in light and dark schemes, a
 * visible focus ring, and the progress animation off for `prefers-reduced-motion: reduce`.
 */
export const PAGE_STYLE = `
:root{color-scheme:light dark;--bg:#eef1f5;--card:#fff;--fg:#1b1f24;--muted:#454d5a;--accent:#0b57d0;--accent-fg:#fff;--track:#d5dbe4;--soft:#f3f6fb;--warn:#8a4b00;--warn-bg:#fff4e0}
@media (prefers-color-scheme:dark){:root{--bg:#101318;--card:#1b2027;--fg:#eef1f5;--muted:#b9c1cc;--accent:#8ab4f8;--accent-fg:#0b1b33;--track:#3a4350;--soft:#232a33;--warn:#ffcc80;--warn-bg:#3a2a10}}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:100%;line-height:1.5;background:var(--bg);color:var(--fg)}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem}
main{background:var(--card);width:100%;max-width:36rem;padding:2rem;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1rem;margin:0 0 .25rem}
p{margin:0 0 1rem}
.position{font-size:1.4rem;font-weight:700;margin:1.5rem 0 .75rem}
.note{color:var(--warn);background:var(--warn-bg);border-left:4px solid var(--warn);padding:.5rem .75rem}
.progress{height:6px;border-radius:3px;background:var(--track);overflow:hidden;margin:0 0 1.25rem}
.progress span{display:block;width:30%;height:100%;border-radius:3px;background:var(--accent);animation:anteroom-slide 1.8s ease-in-out infinite}
@keyframes anteroom-slide{from{transform:translateX(-100%)}to{transform:translateX(340%)}}
.facts{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0 0 1.25rem}
.facts dt{color:var(--muted)}
.facts dd{margin:0;font-weight:600}
.message{background:var(--soft);border-left:4px solid var(--accent);padding:.75rem 1rem;margin:0 0 1.25rem}
.message p{margin:0;white-space:pre-line;overflow-wrap:anywhere}
.muted{color:var(--muted)}
a{color:var(--accent)}
a.check{display:inline-block;padding:.6rem 1.2rem;border-radius:8px;background:var(--accent);color:var(--accent-fg);font-weight:600;text-decoration:none}
a.check:hover{text-decoration:underline}
a:focus-visible{outline:3px solid var(--fg);outline-offset:3px}
[hidden]{display:none!important}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}.progress span{width:100%;opacity:.4}}
`.trim();
