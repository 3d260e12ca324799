/* The catalogue site's search, in the browser with no server: it reads the index that
   workflow/publishing/search.py writes, and matches exactly as that module's search() does.

   Page: <form id="search-form"><input id="search-input" name="q"></form> <ol id="search-results"></ol>
   <p id="search-status" role="status" aria-live="polite"></p>
   <script src="assets/search.js" data-index="search/"></script>
   data-index: the index folder, relative to the page. Result URLs are relative to the site root, which is
   the index folder's parent unless data-site (relative to the page) says otherwise.
   Labels (Chinese by default) from data-label-found ("{n}"), -none, -shown ("{shown}"), -searching,
   -error, -empty; data-limit: how many results are shown (20).
   Document text is only ever put in the page as text nodes: never innerHTML. */
(() => {
  "use strict";

  const script = document.currentScript;
  const HAN = "\u3007\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\u{20000}-\u{3134F}";
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const FORMAT = 1;
  const NO_DAY = "~~~";

  const normalise = (text) => text.normalize("NFKC").toLowerCase();

  /* The tokens every matching document holds (as search.query_tokens), and the terms to mark. */
  function queryTokens(text) {
    const tokens = [];
    const terms = [];
    const pattern = new RegExp(`([${HAN}]+)|([0-9a-z]+)`, "gu");
    for (const match of normalise(text).matchAll(pattern)) {
      if (match[1]) {
        const run = Array.from(match[1]);
        if (run.length === 1) tokens.push(run[0]);
        for (let i = 0; i + 1 < run.length; i++) tokens.push(run[i] + run[i + 1]);
        terms.push(match[1]);
      } else {
        tokens.push(match[2]);
        terms.push(match[2]);
      }
    }
    return { tokens: [...new Set(tokens)], terms };
  }

  /* FNV-1a, 32 bits, over the token's UTF-8 (as search.shard_of). */
  function shardOf(token, shards) {
    let hash = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(token)) {
      hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    }
    return hash % shards;
  }

  function decodeSlots(text) {
    const slots = new Set();
    if (text.startsWith("*")) {
      for (let i = 1; i < text.length; i++) {
        const value = ALPHABET.indexOf(text[i]);
        for (let bit = 0; bit < 6; bit++) if ((value >> bit) & 1) slots.add((i - 1) * 6 + bit);
      }
    } else {
      for (let i = 0; i + 1 < text.length; i += 2) {
        slots.add((ALPHABET.indexOf(text[i]) << 6) | ALPHABET.indexOf(text[i + 1]));
      }
    }
    return slots;
  }

  /* Slot `slot`'s date in a bucket's m.json: days since 1970 in three base64url characters (as search.encode_days). */
  function dayOf(days, slot) {
    const code = (k) => ALPHABET.indexOf(days[3 * slot + k]);
    return (code(0) << 12) | (code(1) << 6) | code(2);
  }

  /* A missing file is an empty one (a bucket being written); any other failure is an error. */
  async function getJSON(url, options) {
    const response = await fetch(url, options);
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  async function search(indexURL, text, limit) {
    const { tokens, terms } = queryTokens(text);
    const manifest = tokens.length ? await getJSON(new URL("manifest.json", indexURL), { cache: "no-cache" }) : null;
    if (!manifest || manifest.format !== FORMAT) return { total: 0, hits: [], terms };
    const version = `?v=${manifest.version}`;
    const file = (bucket, name) => new URL(`b/${bucket}/${name}${version}`, indexURL);
    const needed = [...new Set(tokens.map((token) => shardOf(token, manifest.shards)))];

    const perBucket = await Promise.all(
      Array.from({ length: manifest.buckets }, async (_, bucket) => {
        const [meta, ...shards] = await Promise.all([
          getJSON(file(bucket, "m.json")),
          ...needed.map((k) => getJSON(file(bucket, `s${k}.json`))),
        ]);
        if (!meta) return [];
        const postings = Object.assign({}, ...shards.map((shard) => shard || {}));
        let found = null;
        const titles = [];
        for (const token of tokens) {
          const value = Object.hasOwn(postings, token) ? postings[token] : undefined;
          if (value === undefined) return [];
          const [slots, inTitle] = typeof value === "string" ? [value, ""] : value;
          const decoded = decodeSlots(slots);
          found = found === null ? decoded : new Set([...found].filter((slot) => decoded.has(slot)));
          titles.push(decodeSlots(inTitle));
        }
        const visible = Math.min(meta.n, manifest.capacity, meta.d.length / 3);
        return [...(found || [])]
          .filter((slot) => slot < visible && meta.d.slice(3 * slot, 3 * slot + 3) !== NO_DAY)
          .map((slot) => [titles.filter((set) => set.has(slot)).length, dayOf(meta.d, slot), bucket, slot]);
      }),
    );
    const matches = perBucket.flat();
    matches.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2] || b[3] - a[3]);

    const chunks = new Map();
    const hits = [];
    for (const [titleHits, , bucket, slot] of matches.slice(0, limit)) {
      const key = `${bucket}/${Math.floor(slot / manifest.chunk)}`;
      if (!chunks.has(key)) chunks.set(key, getJSON(file(bucket, `d${Math.floor(slot / manifest.chunk)}.json`)));
      hits.push([titleHits, bucket, slot, key]);
    }
    const entries = await Promise.all(
      hits.map(async ([titleHits, , slot, key]) => {
        const chunk = (await chunks.get(key)) || [];
        const entry = chunk[slot % manifest.chunk];
        return entry ? { ...entry, titleHits } : null;
      }),
    );
    return { total: matches.length, hits: entries.filter(Boolean), terms };
  }

  /* Append `text` to `parent`, each occurrence of a term (compared NFKC-normalised) in a <mark>. */
  function appendMarked(parent, text, terms) {
    let normal = "";
    const origin = []; // for each UTF-16 unit of `normal`: [start, end) of its character in `text`
    for (let i = 0; i < text.length; ) {
      const char = String.fromCodePoint(text.codePointAt(i));
      const mapped = normalise(char);
      for (let k = 0; k < mapped.length; k++) origin.push([i, i + char.length]);
      normal += mapped;
      i += char.length;
    }
    const ranges = [];
    for (const term of terms) {
      if (!term) continue;
      for (let at = normal.indexOf(term); at !== -1; at = normal.indexOf(term, at + term.length)) {
        ranges.push([origin[at][0], origin[at + term.length - 1][1]]);
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    let done = 0;
    for (const [start, end] of ranges) {
      if (start < done) continue;
      if (start > done) parent.append(document.createTextNode(text.slice(done, start)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(start, end);
      parent.append(mark);
      done = end;
    }
    if (done < text.length) parent.append(document.createTextNode(text.slice(done)));
  }

  function safeURL(relative, base) {
    const url = new URL(relative, base);
    return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "file:" ? url.href : null;
  }

  function start() {
    const form = document.getElementById("search-form");
    const input = document.getElementById("search-input");
    const list = document.getElementById("search-results");
    const status = document.getElementById("search-status");
    if (!form || !input || !list || !status) return;
    const data = script.dataset;
    const label = (name, fallback) => data[name] || fallback;
    const labels = {
      found: label("labelFound", "找到 {n} 条"),
      shown: label("labelShown", "，显示前 {shown} 条"),
      none: label("labelNone", "没有找到"),
      searching: label("labelSearching", "正在搜索……"),
      error: label("labelError", "搜索暂时无法使用，请稍后再试"),
      empty: label("labelEmpty", "请输入要查找的词"),
    };
    const indexURL = new URL(data.index || "search/", document.baseURI);
    const siteURL = data.site ? new URL(data.site, document.baseURI) : new URL("../", indexURL);
    const limit = Number.parseInt(data.limit || "20", 10) || 20;
    let latest = 0;

    async function run(text) {
      const ticket = ++latest;
      list.replaceChildren();
      if (!text.trim()) {
        status.textContent = labels.empty;
        return;
      }
      status.textContent = labels.searching;
      let result;
      try {
        result = await search(indexURL, text, limit);
      } catch (error) {
        if (ticket === latest) status.textContent = labels.error;
        console.error("search:", error);
        return;
      }
      if (ticket !== latest) return; // a newer query was submitted meanwhile
      for (const hit of result.hits) {
        const href = safeURL(hit.url, siteURL);
        if (!href) continue;
        const item = document.createElement("li");
        item.className = "search-result";
        const link = document.createElement("a");
        link.href = href;
        appendMarked(link, hit.title, result.terms);
        const heading = document.createElement("h3");
        heading.append(link);
        const about = document.createElement("p");
        about.className = "search-meta";
        const category = document.createElement("span");
        category.className = "search-category";
        category.textContent = hit.category;
        const time = document.createElement("time");
        time.dateTime = hit.date;
        time.textContent = hit.date;
        about.append(category, " ", time);
        const snippet = document.createElement("p");
        snippet.className = "search-snippet";
        appendMarked(snippet, hit.snippet, result.terms);
        item.append(heading, about, snippet);
        list.append(item);
      }
      if (result.total === 0) {
        status.textContent = labels.none;
      } else {
        const shown = result.total > result.hits.length ? labels.shown.replace("{shown}", result.hits.length) : "";
        status.textContent = labels.found.replace("{n}", result.total) + shown;
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const url = new URL(window.location.href);
      url.searchParams.set("q", input.value);
      window.history.replaceState(null, "", url);
      run(input.value);
    });
    const asked = new URL(window.location.href).searchParams.get("q");
    if (asked !== null) {
      input.value = asked;
      run(asked);
    }
  }

  // For the page's own scripts and the tests that check this file against search.py.
  window.gongkaiSearch = Object.freeze({ queryTokens, shardOf, search });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
