/**
 * The dashboard's CSS, inline and pinned by hash in the CSP. Made to be read at 3 a.m.: light and dark
 * schemes (the system's), WCAG AA contrast, states as words and shapes on tinted backgrounds (never
 * color alone), an unknown signal striped, stale figures greyed out when the connection is lost, and
 * a visible focus ring.
 */
export const DASHBOARD_STYLE = `
:root{color-scheme:light dark;--bg:#eef1f5;--card:#fff;--fg:#1b1f24;--muted:#4a5260;--line:#c9d0da;--accent:#0b57d0;--accent-fg:#fff;
--ok-bg:#dcf3e1;--ok-fg:#0d5420;--warn-bg:#fff0c2;--warn-fg:#5e4100;--bad-bg:#ffdcd8;--bad-fg:#8a1a10;--unk-bg:#e4e7ec;--unk-fg:#2c323b;--bar:#d5dbe4}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#1a1f26;--fg:#eef1f5;--muted:#b4bcc8;--line:#39424f;--accent:#8ab4f8;--accent-fg:#0b1b33;
--ok-bg:#133a1f;--ok-fg:#a6e9b5;--warn-bg:#3d2f05;--warn-fg:#ffd97a;--bad-bg:#4a1510;--bad-fg:#ffb4aa;--unk-bg:#2e343d;--unk-fg:#e1e5eb;--bar:#39424f}}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:100%;line-height:1.45;background:var(--bg);color:var(--fg)}
body{margin:0;padding:0 1rem 2rem}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.75rem 0;border-bottom:1px solid var(--line);margin-bottom:1rem}
.top h1{font-size:1.3rem;margin:0}
.top .grow{flex:1}
main{max-width:90rem;margin:0 auto}
section{background:var(--card);border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h2{font-size:1.15rem;margin:0 0 .75rem}
h3{font-size:1.1rem;margin:0}
p{margin:0 0 .75rem}
.muted{color:var(--muted)}
.conn{font-weight:700;padding:.2rem .6rem;border-radius:6px;margin:0}
.conn.ok{background:var(--ok-bg);color:var(--ok-fg)}
.conn.lost{background:var(--bad-bg);color:var(--bad-fg)}
.conn.wait{background:var(--unk-bg);color:var(--unk-fg)}
.stale .data{opacity:.55;filter:grayscale(1)}
.stale-note{background:var(--bad-bg);color:var(--bad-fg);padding:.5rem .75rem;border-radius:6px;font-weight:600}
.alerts{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
.alerts li{padding:.45rem .75rem;border-radius:6px;border-left:6px solid;font-weight:600}
.alerts .bad{background:var(--bad-bg);color:var(--bad-fg)}
.alerts .warn{background:var(--warn-bg);color:var(--warn-fg)}
.alerts .info,.alerts .calm{background:var(--ok-bg);color:var(--ok-fg)}
.upstreams{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,38rem),1fr))}
.upstream{border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
.up-head{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .9rem;margin-bottom:.25rem}
.badge{display:inline-block;font-size:1.05rem;font-weight:800;letter-spacing:.03em;padding:.2rem .6rem;border-radius:6px;border:2px solid}
.s-open{background:var(--ok-bg);color:var(--ok-fg)}
.s-queueing{background:var(--warn-bg);color:var(--warn-fg)}
.s-shedding{background:var(--bad-bg);color:var(--bad-fg)}
.s-none{background:var(--unk-bg);color:var(--unk-fg);border-style:dashed}
.url{overflow-wrap:anywhere;font-size:.9rem}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.4rem 1rem;margin:.5rem 0 .75rem}
.facts div{min-width:0}
.facts dt{color:var(--muted);font-size:.85rem}
.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.big{font-size:1.6rem;font-weight:800}
.meter{height:8px;border-radius:4px;background:var(--bar);overflow:hidden;margin-top:.2rem}
.meter span{display:block;height:100%;width:0;background:var(--accent)}
.meter.full span{background:var(--bad-fg)}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:700;padding:.25rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{font-size:.85rem;color:var(--muted);white-space:nowrap}
tbody th{font-weight:600}
.id{overflow-wrap:break-word;max-width:24rem}
.sig{white-space:nowrap}
.wrap{overflow-x:auto}
.lvl{font-weight:800;white-space:nowrap}
tr.l-unknown td,tr.l-unknown th{background:repeating-linear-gradient(135deg,var(--unk-bg) 0 8px,var(--card) 8px 16px)}
tr.l-unknown .lvl{color:var(--bad-fg)}
tr.l-over .lvl{color:var(--warn-fg);background:var(--warn-bg);padding:0 .3rem;border-radius:4px}
tr.l-shed .lvl{color:var(--bad-fg);background:var(--bad-bg);padding:0 .3rem;border-radius:4px}
tr.l-quiet .lvl,tr.l-unused .lvl{color:var(--muted);font-weight:600}
tr.l-ok .lvl{color:var(--ok-fg)}
.detail{font-size:.85rem;color:var(--muted);overflow-wrap:anywhere}
.mode{font-weight:700}
.m-pause,.m-maintenance{color:var(--bad-fg);background:var(--bad-bg);padding:0 .35rem;border-radius:4px}
.m-queue-all{color:var(--warn-fg);background:var(--warn-bg);padding:0 .35rem;border-radius:4px}
.src{font-size:.8rem;color:var(--muted);margin-left:.3rem}
.sub{display:block;font-size:.8rem;color:var(--muted)}
.toolbar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin-bottom:.5rem}
label{font-weight:600}
input,select,textarea,button{font:inherit;color:inherit}
input[type=text],input[type=password],input[type=search],textarea{background:var(--card);border:1px solid var(--muted);border-radius:6px;padding:.4rem .5rem;max-width:100%}
textarea{width:100%;min-height:3.5rem}
button{background:var(--card);border:1px solid var(--muted);border-radius:6px;padding:.35rem .8rem;cursor:pointer}
button.primary{background:var(--accent);color:var(--accent-fg);border-color:var(--accent);font-weight:700}
button.danger{background:var(--bad-fg);color:var(--card);border-color:var(--bad-fg);font-weight:700}
button:disabled{opacity:.6;cursor:progress}
th button{border:0;background:none;padding:0;font-weight:700;color:inherit;text-decoration:underline dotted}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
fieldset{border:1px solid var(--line);border-radius:8px;margin:0 0 .75rem;padding:.5rem .9rem}
legend{font-weight:700;padding:0 .3rem}
.choices{display:grid;gap:.3rem}
.choices label{font-weight:400}
.choices b{font-weight:700}
.field{margin:0 0 .75rem}
.field label{display:block;margin-bottom:.2rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.msg{padding:.5rem .75rem;border-radius:6px;font-weight:600;margin:.5rem 0 0}
.msg.good{background:var(--ok-bg);color:var(--ok-fg)}
.msg.bad{background:var(--bad-bg);color:var(--bad-fg)}
.msg.warn{background:var(--warn-bg);color:var(--warn-fg)}
.modes-list{list-style:none;margin:0 0 1rem;padding:0;display:grid;gap:.4rem}
.modes-list li{display:flex;flex-wrap:wrap;gap:.3rem .8rem;align-items:baseline;border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem}
.login{max-width:34rem;margin:3rem auto}
dialog{border:2px solid var(--bad-fg);border-radius:10px;background:var(--card);color:var(--fg);max-width:32rem;padding:1.25rem}
dialog::backdrop{background:rgba(0,0,0,.55)}
.cols{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,32rem),1fr))}
.cols>section{margin:0}
.cols{margin-bottom:1rem}
[hidden]{display:none!important}
`.trim();
