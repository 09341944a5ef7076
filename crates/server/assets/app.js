// Switchboard's inbox script: live updates over SSE, and actions through the JSON API with the
// session's CSRF token. Pages are rendered by the server; this only fetches fragments of them.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const meta = (name) => { const m = document.querySelector(`meta[name="${name}"]`); return m ? m.content : ""; };
const ME = Number(meta("user-id")) || 0;
const MY_NAME = meta("user-name");

async function api(method, path, body, contentType) {
  const headers = { "x-csrf-token": meta("csrf-token") };
  let payload;
  if (body !== undefined) {
    headers["content-type"] = contentType || "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (e) {
    return { ok: false, status: 0, data: { error: { code: "network", message: "Switchboard cannot be reached; check your connection." } } };
  }
  if (r.status === 401 && !path.startsWith("/api/v1/auth/login")) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
  let data = null;
  const text = await r.text();
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  return { ok: r.ok, status: r.status, data };
}
const errorText = (res) => (res.data && res.data.error && res.data.error.message) || `Request failed (${res.status}).`;
const errorCode = (res) => res.data && res.data.error && res.data.error.code;

function toast(text, bad) {
  const box = $("#toasts");
  if (!box) return;
  const t = document.createElement("div");
  t.className = "toast" + (bad ? " bad" : "");
  t.textContent = text;
  box.appendChild(t);
  setTimeout(() => t.remove(), 6000);
}

// Times: the server writes UTC; show the reader's local time.
function localTimes(root) {
  const today = new Date().toDateString();
  $$("time[data-at]", root).forEach((el) => {
    const d = new Date(Number(el.dataset.at));
    if (isNaN(d)) return;
    const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    el.textContent = el.closest(".conv") && d.toDateString() !== today ? d.toLocaleDateString([], { month: "short", day: "numeric" }) : hm;
    el.title = d.toLocaleString();
  });
}

// ---- Login ---------------------------------------------------------------------------------
function initLogin() {
  const form = $("#login-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = $("#login-error");
    err.hidden = true;
    $("#login-submit").disabled = true;
    const res = await api("POST", "/api/v1/auth/login", { email: $("#email").value, password: $("#password").value });
    $("#login-submit").disabled = false;
    if (res.ok) { location.href = form.dataset.next || "/inbox"; return; }
    err.textContent = errorText(res);
    err.hidden = false;
  });
}

// ---- Live updates --------------------------------------------------------------------------
const live = { handlers: [] };
function connectEvents() {
  if (!ME) return;
  const dot = $("#live");
  const es = new EventSource("/api/v1/events");
  es.onopen = () => dot && dot.classList.add("on");
  es.onerror = () => dot && dot.classList.remove("on");
  for (const kind of ["message", "status", "assignment", "conversation", "note", "presence", "lagged", "clock"]) {
    es.addEventListener(kind, (e) => {
      let d = {};
      try { d = JSON.parse(e.data); } catch (_) {}
      live.handlers.forEach((h) => h(kind, d));
    });
  }
  // Online for routing while the inbox is open.
  const beat = () => api("POST", "/api/v1/auth/presence");
  beat();
  setInterval(beat, 20000);
}

// ---- Inbox ---------------------------------------------------------------------------------
const inbox = { open: null, refreshList: null, refreshPane: null, skew: 0, viewing: null, lastTyping: 0, others: {},
  qs: null, listSeq: 0, paneSeq: 0, poll: null, polls: 0 };

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// The list's current query: what the filters say now, not what the last response said.
function listQuery() {
  if (inbox.qs === null) { const list = $("#conv-list"); inbox.qs = list ? list.dataset.qs : "view=mine"; }
  return inbox.qs;
}

async function loadList(qs) {
  inbox.qs = qs;
  const seq = ++inbox.listSeq;
  const r = await fetch("/inbox/list?" + qs + (inbox.open ? "&c=" + inbox.open : ""), { credentials: "same-origin" });
  if (!r.ok) return;
  const html = await r.text();
  if (seq !== inbox.listSeq) return; // a newer request (other filters, a later event) wins
  const doc = new DOMParser().parseFromString(html, "text/html");
  const fresh = $("#conv-list", doc);
  const counts = $("#view-counts", doc);
  if (fresh) { $("#conv-list").replaceWith(fresh); localTimes(fresh); }
  if (counts) {
    for (const v of ["mine", "unassigned", "team", "all"]) {
      const link = $(`[data-view-link="${v}"]`);
      if (!link) continue;
      $(".count", link).textContent = counts.dataset[v];
      let badge = $(".badge", link);
      const unread = Number(counts.dataset[v + "Unread"] || 0);
      if (unread > 0) {
        if (!badge) { badge = document.createElement("span"); badge.className = "badge"; link.appendChild(badge); }
        badge.textContent = unread;
      } else if (badge) badge.remove();
    }
  }
}

function pane() { return $("#pane"); }

async function openConversation(id, push) {
  const r = await fetch("/inbox/c/" + id, { credentials: "same-origin" });
  if (!r.ok) { toast("That conversation could not be opened.", true); return; }
  const html = await r.text();
  $("#pane-col").innerHTML = html;
  inbox.open = Number(id);
  $("#inbox").classList.add("has-open");
  $$(".conv").forEach((li) => li.classList.toggle("active", Number(li.dataset.id) === inbox.open));
  if (push) history.pushState({ c: id }, "", "/inbox?" + listQuery() + "&c=" + id);
  initPane();
}

async function refreshPane() {
  let p = pane();
  if (!p) return;
  const id = p.dataset.conversation;
  const seq = ++inbox.paneSeq;
  const r = await fetch("/inbox/c/" + id, { credentials: "same-origin" });
  if (!r.ok) return;
  const text = await r.text();
  p = pane();
  // Stale: a newer refresh started, or another conversation was opened meanwhile.
  if (seq !== inbox.paneSeq || !p || p.dataset.conversation !== id) return;
  const doc = new DOMParser().parseFromString(text, "text/html");
  const fresh = $("#pane", doc);
  if (!fresh) return;
  const thread = $("#thread");
  const atBottom = thread && thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
  for (const sel of ["#pane-head", "#thread", "#contact-panel"]) {
    const a = $(sel, p), b = $(sel, fresh);
    if (a && b) a.replaceWith(b);
  }
  // The composer is replaced only when what it offers changed (so a draft survives updates).
  const key = (el) => [el.dataset.mode, el.dataset.holder, el.dataset.mine].join("|");
  if (key(p) !== key(fresh)) {
    const draft = $("#reply-text") ? $("#reply-text").value : "";
    $("#composer", p).replaceWith($("#composer", fresh));
    if (draft && $("#reply-text")) $("#reply-text").value = draft;
    initComposer();
  }
  for (const k of ["mode", "holder", "mine", "lastMessage", "windowUntil", "serverNow"]) p.dataset[k] = fresh.dataset[k];
  inbox.skew = Number(p.dataset.serverNow) - Date.now();
  localTimes(p);
  bindPaneHead();
  bindContact();
  if (atBottom) scrollThread();
  watchOutbox();
}

// Messages still in the outbox (queued, sending, held) change without a webhook when Meta
// accepts them or a send fails: look again shortly, for a while.
function watchOutbox() {
  clearTimeout(inbox.poll);
  const pending = $$("#thread li.msg.out[data-status]").some((li) => ["queued", "sending", "held", "accepted"].includes(li.dataset.status));
  if (!pending) { inbox.polls = 0; return; }
  if (++inbox.polls > 80) return;
  inbox.poll = setTimeout(() => refreshPane(), 1500);
}

function scrollThread() {
  const t = $("#thread");
  if (t) t.scrollTop = t.scrollHeight;
}

function showError(text) {
  const e = $("#composer-error");
  if (!e) { toast(text, true); return; }
  e.textContent = text;
  e.hidden = !text;
}

async function act(path, body) {
  const res = await api("POST", `/api/v1/conversations/${pane().dataset.conversation}/${path}`, body);
  if (!res.ok) { showError(errorText(res)); toast(errorText(res), true); }
  else { showError(""); await refreshPane(); inbox.refreshList(); }
  return res;
}

function bindPaneHead() {
  const p = pane();
  if (!p) return;
  $$("[data-action]", $("#pane-head")).forEach((el) => {
    const a = el.dataset.action;
    if (a === "back") el.onclick = () => { $("#inbox").classList.remove("has-open"); inbox.open = null; history.pushState({}, "", "/inbox?" + listQuery()); };
    if (a === "claim") el.onclick = () => act("claim");
    if (a === "release") el.onclick = () => act("release");
    if (a === "take-over") el.onclick = () => {
      const who = $("#holder-name") ? $("#holder-name").textContent.replace(/ holds this$/, "") : "the holder";
      if (confirm(`Take this conversation over from ${who}? It is recorded, and they are told.`)) act("take-over");
    };
    if (a === "assign") el.onchange = () => { if (el.value) act("assign", { user_id: Number(el.value) }); };
    if (a === "status") el.onchange = () => act("status", { status: el.value });
  });
  const left = $("#window-left");
  if (left) tickWindow();
}

function tickWindow() {
  const p = pane();
  if (!p) return;
  const left = Number(p.dataset.windowUntil) - (Date.now() + inbox.skew);
  const el = $("#window-left");
  if (left <= 0) { if (p.dataset.mode === "free") refreshPane(); return; }
  if (el) el.textContent = `${Math.floor(left / 3600000)}h ${String(Math.floor(left % 3600000 / 60000)).padStart(2, "0")}m`;
}

function bindContact() {
  const p = pane();
  if (!p) return;
  const id = p.dataset.conversation;
  const form = $("form[data-action=label]", p);
  if (form) form.onsubmit = async (e) => {
    e.preventDefault();
    const label = form.label.value.trim();
    if (!label) return;
    const res = await api("POST", `/api/v1/conversations/${id}/labels/${encodeURIComponent(label)}`);
    if (!res.ok) toast(errorText(res), true); else refreshPane();
  };
  $$("[data-action=unlabel]", p).forEach((b) => b.onclick = async () => {
    const res = await api("DELETE", `/api/v1/conversations/${id}/labels/${encodeURIComponent(b.dataset.label)}`);
    if (!res.ok) toast(errorText(res), true); else refreshPane();
  });
  $$("[data-action=consent]", p).forEach((b) => b.onclick = async () => {
    const out = b.dataset.consent === "opt_out";
    if (out && !confirm("Record that this customer opted out of marketing? Marketing messages to them will be refused.")) return;
    const res = await api("POST", `/api/v1/contacts/${p.dataset.contact}/consent`, {
      purpose: b.dataset.purpose, action: b.dataset.consent, source: "agent",
      evidence: `recorded in the inbox by ${MY_NAME}`, number: null,
    });
    if (!res.ok) toast(errorText(res), true); else { toast(out ? "Opt-out recorded." : "Opt-in recorded."); refreshPane(); }
  });
}

function fill(text) {
  const p = pane();
  const name = p ? p.dataset.contactName : "";
  // Functions, so a `$&` in a customer's name is not read as a replacement pattern.
  const number = p ? p.dataset.businessNumber : "";
  return text
    .replace(/\{\{\s*contact\.first_name\s*\}\}/g, () => name.split(/\s+/)[0] || "")
    .replace(/\{\{\s*contact\.name\s*\}\}/g, () => name)
    .replace(/\{\{\s*agent\.name\s*\}\}/g, () => MY_NAME)
    .replace(/\{\{\s*business\.number\s*\}\}/g, () => number);
}

async function sendReply(body, confirmed) {
  const p = pane();
  body.seen_message_id = Number(p.dataset.lastMessage) || 0;
  if (confirmed) body.confirm = true;
  const res = await api("POST", `/api/v1/conversations/${p.dataset.conversation}/reply`, body);
  if (res.ok) {
    showError("");
    $("#composer-confirm").hidden = true;
    return true;
  }
  if (errorCode(res) === "thread_changed") {
    const box = $("#composer-confirm");
    box.hidden = false;
    $("[data-action=confirm-send]", box).onclick = async () => {
      box.hidden = true;
      await refreshPane();
      if (await sendReply(body, true)) { clearComposer(); refreshPane(); }
    };
    await refreshPane();
    return false;
  }
  showError(errorText(res));
  return false;
}

function clearComposer() {
  if ($("#reply-text")) $("#reply-text").value = "";
  if ($("#media-link")) $("#media-link").value = "";
}

function initComposer() {
  const c = $("#composer");
  if (!c) return;
  $$(".tab", c).forEach((t) => t.onclick = () => {
    $$(".tab", c).forEach((x) => x.classList.toggle("current", x === t));
    $$("[data-tab-body]", c).forEach((b) => b.hidden = b.dataset.tabBody !== t.dataset.tab);
  });
  const reply = $("#reply-form");
  if (reply) {
    const ta = $("#reply-text");
    reply.onsubmit = async (e) => {
      e.preventDefault();
      const text = ta.value.trim();
      const link = $("#media-link") ? $("#media-link").value.trim() : "";
      if (!text && !link) return;
      let body;
      if (link) {
        const kind = $("#media-kind").value;
        body = { type: kind, [kind]: { link } };
        if (text && kind !== "audio") body[kind].caption = text;
      } else body = { type: "text", text: { body: text } };
      $("#send").disabled = true;
      const ok = await sendReply(body, false);
      $("#send").disabled = false;
      if (ok) { clearComposer(); refreshPane(); }
    };
    ta.onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); reply.requestSubmit(); } };
    ta.oninput = () => {
      if (Date.now() - inbox.lastTyping > 3000) {
        inbox.lastTyping = Date.now();
        api("POST", `/api/v1/conversations/${pane().dataset.conversation}/presence`, { typing: true });
      }
    };
    const canned = $("#canned");
    if (canned) canned.onchange = () => {
      if (!canned.value) return;
      ta.value = (ta.value ? ta.value + " " : "") + fill(canned.value);
      canned.value = "";
      ta.focus();
    };
  }
  const note = $("#note-form");
  if (note) note.onsubmit = async (e) => {
    e.preventDefault();
    const text = $("#note-text").value.trim();
    if (!text) return;
    const res = await act("notes", { text });
    if (res.ok) $("#note-text").value = "";
  };
  initTemplatePicker();
}

// ---- Template picker (the window is closed) -----------------------------------------------
const VAR = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
// A component's parameters, each once: positional ones in number order ({{1}}, {{2}}…),
// named ones in the order they first appear.
function varsOf(text) {
  if (!text) return [];
  const vs = [...new Set(Array.from(text.matchAll(VAR), (m) => m[1]))];
  return vs.every((v) => /^\d+$/.test(v)) ? vs.sort((a, b) => Number(a) - Number(b)) : vs;
}

function initTemplatePicker() {
  const pick = $("#template-pick");
  if (!pick) return;
  const form = $("#template-form");
  const params = $("#template-params");
  const preview = $("#template-preview");
  const decision = $("#template-decision");
  const send = $("#send-template");
  let current = null;

  const build = () => {
    if (!current) return null;
    const { def, name, language } = current;
    const named = def.parameter_format === "NAMED";
    const components = [];
    const value = (part, v) => ($(`[data-part="${part}"][data-var="${v}"]`, params) || {}).value || "";
    for (const comp of def.components || []) {
      const type = String(comp.type || "").toUpperCase();
      if (type === "HEADER") {
        const fmt = String(comp.format || "TEXT").toUpperCase();
        if (fmt === "TEXT") {
          const vs = varsOf(comp.text);
          if (vs.length) components.push({ type: "header", parameters: vs.map((v) => named ? { type: "text", parameter_name: v, text: value("header", v) } : { type: "text", text: value("header", v) }) });
        } else if (["IMAGE", "VIDEO", "DOCUMENT"].includes(fmt)) {
          const k = fmt.toLowerCase();
          components.push({ type: "header", parameters: [{ type: k, [k]: { link: value("header", "media") } }] });
        }
      } else if (type === "BODY") {
        const vs = varsOf(comp.text);
        if (vs.length) components.push({ type: "body", parameters: vs.map((v) => named ? { type: "text", parameter_name: v, text: value("body", v) } : { type: "text", text: value("body", v) }) });
      } else if (type === "BUTTONS") {
        (comp.buttons || []).forEach((b, i) => {
          if (String(b.type).toUpperCase() === "URL" && varsOf(b.url).length) {
            components.push({ type: "button", sub_type: "url", index: String(i), parameters: [{ type: "text", text: value("button" + i, varsOf(b.url)[0]) }] });
          }
        });
      }
    }
    return { type: "template", template: { name, language: { code: language }, components } };
  };

  const render = () => {
    preview.innerHTML = "";
    if (!current) return;
    const sub = (part, text) => text.replace(VAR, (_, v) => {
      const el = $(`[data-part="${part}"][data-var="${v}"]`, params);
      return el && el.value ? el.value : `[${v}]`;
    });
    for (const comp of current.def.components || []) {
      const type = String(comp.type || "").toUpperCase();
      const div = document.createElement("div");
      if (type === "HEADER") {
        div.className = "p-header";
        div.textContent = String(comp.format || "TEXT").toUpperCase() === "TEXT" ? sub("header", comp.text || "") : `[${String(comp.format).toLowerCase()}]`;
      } else if (type === "BODY") { div.className = "p-body"; div.textContent = sub("body", comp.text || ""); }
      else if (type === "FOOTER") { div.className = "p-footer"; div.textContent = comp.text || ""; }
      else if (type === "BUTTONS") {
        (comp.buttons || []).forEach((b) => { const s = document.createElement("span"); s.className = "p-button"; s.textContent = b.text || b.type; div.appendChild(s); });
      }
      preview.appendChild(div);
    }
  };

  const check = debounce(async () => {
    const body = build();
    if (!body) return;
    const asked = JSON.stringify(body);
    const res = await api("POST", `/api/v1/conversations/${pane().dataset.conversation}/check`, body);
    // The form changed while this was checked: the newer check decides.
    const now = build();
    if (!now || JSON.stringify(now) !== asked) return;
    if (!res.ok) {
      decision.className = "decision refused";
      decision.textContent = errorText(res);
      send.disabled = true;
      return;
    }
    const d = res.data.decision || {};
    if (d.decision === "refuse") {
      decision.className = "decision refused";
      decision.textContent = "Will be refused: " + d.message;
      send.disabled = true;
    } else if (d.decision === "hold") {
      decision.className = "decision";
      decision.textContent = "Will wait in the queue: " + d.message;
      send.disabled = false;
    } else {
      decision.className = "decision ok";
      decision.textContent = "✓ Can be sent now" + (d.business_initiated ? " (business-initiated: counts against the messaging limit)" : "") + ".";
      send.disabled = false;
    }
  }, 250);

  pick.onchange = () => {
    params.innerHTML = "";
    decision.textContent = "";
    send.disabled = true;
    const opt = pick.selectedOptions[0];
    if (!opt || !opt.dataset.name) { current = null; render(); return; }
    let def = {};
    try { def = JSON.parse(opt.dataset.def); } catch (_) {}
    current = { def, name: opt.dataset.name, language: opt.dataset.language };
    const field = (part, v, label, example) => {
      const l = document.createElement("label");
      l.textContent = label;
      const i = document.createElement("input");
      i.dataset.part = part; i.dataset.var = v;
      i.placeholder = example || v;
      i.oninput = () => { render(); check(); };
      l.appendChild(i);
      params.appendChild(l);
    };
    for (const comp of def.components || []) {
      const type = String(comp.type || "").toUpperCase();
      const ex = comp.example || {};
      if (type === "HEADER") {
        const fmt = String(comp.format || "TEXT").toUpperCase();
        if (fmt === "TEXT") varsOf(comp.text).forEach((v, i) => field("header", v, `Header {{${v}}}`, (ex.header_text || [])[i]));
        else if (["IMAGE", "VIDEO", "DOCUMENT"].includes(fmt)) field("header", "media", `Header ${fmt.toLowerCase()} link`, "https://…");
      } else if (type === "BODY") {
        const samples = (ex.body_text || [[]])[0] || [];
        const namedSamples = Object.fromEntries((ex.body_text_named_params || []).map((p) => [p.param_name, p.example]));
        varsOf(comp.text).forEach((v, i) => field("body", v, `{{${v}}}`, namedSamples[v] || samples[i]));
      } else if (type === "BUTTONS") {
        (comp.buttons || []).forEach((b, i) => { if (String(b.type).toUpperCase() === "URL" && varsOf(b.url).length) field("button" + i, varsOf(b.url)[0], `${b.text} link suffix`, ""); });
      }
    }
    render();
    check();
  };

  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = build();
    if (!body) return;
    send.disabled = true;
    const ok = await sendReply(body, false);
    if (ok) { pick.value = ""; pick.onchange(); toast("Template queued."); refreshPane(); }
    else send.disabled = false;
  };
}

function presenceShown(d) {
  const box = $("#presence");
  if (!box) return;
  const now = Date.now();
  if (d.data && d.data.user_id !== ME) inbox.others[d.data.user_id] = { name: d.data.name, typing: d.data.typing, at: now };
  const parts = Object.values(inbox.others)
    .filter((o) => now - o.at < (o.typing ? 6000 : 25000))
    .map((o) => o.typing ? `${o.name} is typing…` : `${o.name} is viewing`);
  box.textContent = parts.join(" · ");
}

function initPane() {
  const p = pane();
  if (!p) return;
  inbox.open = Number(p.dataset.conversation);
  inbox.others = {};
  inbox.skew = Number(p.dataset.serverNow) - Date.now();
  localTimes(p);
  bindPaneHead();
  bindContact();
  initComposer();
  scrollThread();
  inbox.polls = 0;
  watchOutbox();
  api("POST", `/api/v1/conversations/${inbox.open}/read`);
  const view = () => pane() && api("POST", `/api/v1/conversations/${pane().dataset.conversation}/presence`, { typing: false });
  view();
  clearInterval(inbox.viewing);
  inbox.viewing = setInterval(view, 10000);
}

function initInbox() {
  if (!$("#inbox")) return;
  inbox.refreshList = debounce(() => loadList(listQuery()), 150);
  inbox.refreshPane = debounce(refreshPane, 120);
  localTimes(document);
  $("#list-col").addEventListener("click", (e) => {
    const a = e.target.closest("a[data-open]");
    if (!a || e.metaKey || e.ctrlKey) return;
    e.preventDefault();
    openConversation(a.dataset.open, true);
  });
  const filters = $("#filters");
  const apply = () => {
    const qs = new URLSearchParams(new FormData(filters));
    for (const [k, v] of Array.from(qs.entries())) if (!v) qs.delete(k);
    history.replaceState({}, "", "/inbox?" + qs.toString() + (inbox.open ? "&c=" + inbox.open : ""));
    loadList(qs.toString());
  };
  filters.addEventListener("change", apply);
  $("#search").addEventListener("input", debounce(apply, 300));
  filters.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  window.addEventListener("popstate", () => location.reload());
  live.handlers.push((kind, d) => {
    if (kind === "presence") { if (d.conversation_id === inbox.open) presenceShown(d); return; }
    if (kind === "lagged") { inbox.refreshList(); inbox.refreshPane(); return; }
    if (kind === "clock") { inbox.refreshPane(); inbox.refreshList(); return; }
    if (kind === "contact") { if (pane() && d.data && String(d.data.contact_id) === pane().dataset.contact) inbox.refreshPane(); return; }
    if (kind === "assignment" && d.data && d.data.previous === ME && d.data.kind === "taken_over" && d.data.actor !== ME) {
      toast(`${d.data.actor_name} took over a conversation you held.`, true);
    }
    inbox.refreshList();
    if (d.conversation_id === inbox.open) {
      inbox.refreshPane();
      if (kind === "message") api("POST", `/api/v1/conversations/${inbox.open}/read`);
    }
  });
  setInterval(tickWindow, 30000);
  setInterval(() => presenceShown({}), 5000);
  if (pane()) initPane();
}

// ---- Settings, templates, costs ------------------------------------------------------------
function initSettings() {
  const keyForm = $("#key-form");
  if (keyForm) keyForm.onsubmit = async (e) => {
    e.preventDefault();
    const res = await api("POST", "/api/v1/api-keys", { name: $("#key-name").value.trim(), role: $("#key-role").value });
    if (!res.ok) { toast(errorText(res), true); return; }
    $("#key-plaintext").textContent = res.data.key;
    $("#key-secret").hidden = false;
    $("#key-name").value = "";
  };
  $$("[data-action=revoke-key]").forEach((b) => b.onclick = async () => {
    if (!confirm("Revoke this key? Systems using it stop working at once.")) return;
    const res = await api("DELETE", "/api/v1/api-keys/" + b.dataset.id);
    if (!res.ok) toast(errorText(res), true); else location.reload();
  });
  const password = $("#password-form");
  if (password) password.onsubmit = async (e) => {
    e.preventDefault();
    const res = await api("POST", "/api/v1/auth/password", { current_password: $("#password-current").value, new_password: $("#password-new").value });
    if (!res.ok) { toast(errorText(res), true); return; }
    // The old session ended with the change: this page goes on with the new one's token.
    document.querySelector('meta[name="csrf-token"]').content = res.data.csrf_token;
    password.reset();
    toast("Password changed; your other sessions were logged out.");
  };
  const canned = $("#canned-form");
  if (canned) canned.onsubmit = async (e) => {
    e.preventDefault();
    const res = await api("POST", "/api/v1/canned-responses", { shortcut: $("#canned-shortcut").value, body: $("#canned-body").value });
    if (!res.ok) toast(errorText(res), true); else location.reload();
  };
  $$("[data-action=delete-canned]").forEach((b) => b.onclick = async () => {
    const res = await api("DELETE", "/api/v1/canned-responses/" + b.dataset.id);
    if (!res.ok) toast(errorText(res), true); else location.reload();
  });
}

function showFindings(box, findings) {
  box.innerHTML = "";
  if (!findings.length) { box.textContent = "✓ No findings: this template follows Meta's rules as far as Switchboard checks."; return; }
  for (const f of findings) {
    const d = document.createElement("div");
    d.className = "f-" + String(f.severity).toLowerCase();
    d.textContent = `${f.severity} ${f.rule} at ${f.location}: ${f.message} Fix: ${f.fix}`;
    box.appendChild(d);
  }
}

function initTemplates() {
  const form = $("#template-new");
  if (!form) return;
  const box = $("#template-findings");
  $("#template-lint").onclick = async () => {
    const res = await api("POST", "/api/v1/templates/lint", $("#template-json").value);
    if (!res.ok) { box.textContent = errorText(res); return; }
    showFindings(box, res.data.findings || []);
  };
  const showPlan = (changes) => {
    box.innerHTML = "";
    for (const c of changes) {
      const d = document.createElement("div");
      d.className = "plan-" + c.action;
      d.textContent = c.description + (c.error ? ` — failed: ${c.error}` : "");
      box.appendChild(d);
    }
  };
  $("#template-plan").onclick = async () => {
    const res = await api("POST", "/api/v1/templates/plan", $("#template-json").value);
    if (!res.ok) { box.textContent = errorText(res); return; }
    showPlan(res.data.changes || []);
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = $("#template-json").value;
    // An edit sends an approved template back to review: say so first.
    const planned = await api("POST", "/api/v1/templates/plan", body);
    if (!planned.ok) { box.textContent = errorText(planned); return; }
    const updates = (planned.data.changes || []).filter((c) => c.action === "update");
    if (updates.length && !confirm(`${updates.map((c) => c.name).join(", ")} will be edited at Meta and go back to review. Push?`)) { showPlan(planned.data.changes); return; }
    const res = await api("POST", "/api/v1/templates/push", body);
    if (!res.ok) {
      box.textContent = errorText(res);
      const l = res.data && res.data.error && res.data.error.details && res.data.error.details.lint;
      if (l) showFindings(box, l.flatMap((x) => x.findings.map((f) => ({ ...f, location: `${x.file}: ${f.location}` }))));
      return;
    }
    showPlan(res.data.changes || []);
    if (!res.data.ok) { toast(`${res.data.failed} failed and ${res.data.conflicts} could not be made; see the list.`, true); return; }
    toast("Pushed to Meta; new templates are in review.");
    setTimeout(() => location.reload(), 1500);
  };
  $$("[data-action=delete-template]").forEach((b) => b.onclick = async () => {
    if (!confirm(`Delete ${b.dataset.name} (${b.dataset.language}) at Meta? This cannot be undone.`)) return;
    const res = await api("DELETE", `/api/v1/templates/${encodeURIComponent(b.dataset.name)}/${encodeURIComponent(b.dataset.language)}`);
    if (!res.ok) toast(errorText(res), true); else location.reload();
  });
}

function initCosts() {
  const form = $("#forecast-form");
  if (!form) return;
  form.onsubmit = async (e) => {
    e.preventDefault();
    const out = $("#forecast-result");
    const res = await api("POST", "/api/v1/forecast", $("#forecast-csv").value, "text/csv");
    if (!res.ok) {
      const p = res.data && res.data.error && res.data.error.details && res.data.error.details.problems;
      out.textContent = errorText(res) + (p ? " " + p.map((x) => x.message || JSON.stringify(x)).join(" ") : "");
      return;
    }
    const f = res.data;
    const t = document.createElement("table");
    t.className = "grid";
    t.innerHTML = "<thead><tr><th>Country</th><th>Market</th><th>Category</th><th class=num>Volume</th><th class=num>Charged</th><th class=num>Cost</th><th class=num>Without tiers</th><th class=num>Saved in window</th></tr></thead>";
    const tb = document.createElement("tbody");
    for (const l of f.lines) {
      const tr = document.createElement("tr");
      for (const [v, num] of [[l.country], [l.market + (l.fallback_market ? " (Other)" : "")], [l.category], [l.monthly_volume, 1], [l.charged, 1], [l.cost, 1], [l.cost_without_tiers, 1], [l.saving_in_window, 1]]) {
        const td = document.createElement("td");
        if (num) td.className = "num";
        td.textContent = String(v);
        tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
    t.appendChild(tb);
    out.innerHTML = "";
    const sum = document.createElement("p");
    sum.innerHTML = "";
    sum.textContent = `Total ${f.total} ${f.currency} a month (${f.total_without_tiers} without volume tiers); sending utility inside open windows saves ${f.saving_in_window}. Card: ${f.card}, effective ${f.effective}.`;
    sum.id = "forecast-total";
    out.appendChild(sum);
    out.appendChild(t);
  };
}

function initLogout() {
  $$("[data-action=logout]").forEach((b) => b.onclick = async () => {
    await api("POST", "/api/v1/auth/logout");
    location.href = "/login";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  initLogin();
  initLogout();
  connectEvents();
  initInbox();
  initSettings();
  initTemplates();
  initCosts();
});
