// The sandbox page (SPEC §7): one person plays every customer and every agent at once.
// Reads /ui/setup.json (see sandbox/ui.py), then talks to the sandbox's control API, cross-origin.
"use strict";

const DEBOUNCE_MS = 50;
const INLINE_DEBOUNCE_MS = 300;
const TOAST_MS = 4000;
const ANSWER_POLL_MS = 100;
const ANSWER_WAIT_MS = 5000;
const RECONNECT_MS = 2000;
const BOTTOM_SLACK_PX = 40;

// What a message without text shows, by the Message field that carries its content.
const MEDIA_LABELS = {
  photo: () => "🖼 Photo",
  document: (d) => `📄 ${d.file_name || "Document"}`,
  voice: (v) => `🎤 Voice message${v.duration ? ` (${v.duration} s)` : ""}`,
  sticker: (s) => `${s.emoji || ""} Sticker`.trim(),
  location: (l) => `📍 Location ${l.latitude}, ${l.longitude}`,
  video: () => "🎬 Video",
  audio: () => "🎵 Audio",
  animation: () => "🎞 GIF",
  contact: (c) => `👤 Contact: ${c.first_name}`,
  poll: (p) => `📊 Poll: ${p.question}`,
};
const PLAIN_FIELDS = new Set([
  "message_id", "from", "chat", "date", "edit_date", "text", "entities", "caption",
  "caption_entities", "reply_markup", "reply_to_message", "message_thread_id", "via_bot",
]);
// MessageEntity type → [tag, class]; text_link and url become links, other types stay plain.
const ENTITY_ELEMENTS = {
  bold: ["strong"],
  italic: ["em"],
  underline: ["u"],
  strikethrough: ["s"],
  code: ["code"],
  pre: ["code", "pre"],
  spoiler: ["span", "spoiler"],
  blockquote: ["span", "blockquote"],
  expandable_blockquote: ["span", "blockquote"],
};
const LINK_PROTOCOLS = ["http:", "https:", "tg:", "mailto:"];

const state = {
  setup: null,
  api: "",
  agentIds: new Set(),
  panes: new Map(), // chat id → pane
  timers: new Map(), // chat id → pending refresh
};

// --- small helpers -----------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function fullName(user) {
  return user ? [user.first_name, user.last_name].filter(Boolean).join(" ") : "?";
}

function clockTime(date) {
  return new Date(date * 1000).toLocaleTimeString("en-GB", {
    hour: "2-digit", minute: "2-digit", timeZone: state.setup.timezone || undefined,
  });
}

function safeUrl(url) {
  try {
    const parsed = new URL(/^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `https://${url}`);
    return LINK_PROTOCOLS.includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

function mediaLabel(message) {
  const kind = Object.keys(MEDIA_LABELS).find((key) => message[key] !== undefined);
  if (kind) return MEDIA_LABELS[kind](message[kind]);
  if (message.text !== undefined) return null;
  const other = Object.keys(message).find((key) => !PLAIN_FIELDS.has(key));
  return other ? `⋯ ${other.replaceAll("_", " ")}` : "⋯ message";
}

function summary(message) {
  const text = message.text ?? message.caption ?? mediaLabel(message) ?? "";
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

// --- control API -------------------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(state.api + path, init);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.description || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

async function callbackAnswer(queryId) {
  const deadline = Date.now() + ANSWER_WAIT_MS;
  while (Date.now() < deadline) {
    const found = await api("GET", `/sandbox/callbacks/${encodeURIComponent(queryId)}`);
    if (found.answered) return found.answer || {};
    await sleep(ANSWER_POLL_MS);
  }
  return null;
}

// --- rendering a message -----------------------------------------------------------------

// Text with its entities as elements; offsets are UTF-16 units, as JavaScript strings count.
function formatted(text, entities) {
  const fragment = document.createDocumentFragment();
  const cuts = new Set([0, text.length]);
  for (const entity of entities) cuts.add(entity.offset).add(entity.offset + entity.length);
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [start, end] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(start, end));
    for (const entity of entities) {
      if (entity.offset <= start && end <= entity.offset + entity.length) {
        node = wrapped(node, entity, text);
      }
    }
    fragment.append(node);
  }
  return fragment;
}

function wrapped(node, entity, text) {
  let wrapper;
  if (entity.type === "text_link" || entity.type === "url") {
    const href = safeUrl(entity.url ?? text.slice(entity.offset, entity.offset + entity.length));
    if (!href) return node;
    wrapper = element("a");
    Object.assign(wrapper, { href, target: "_blank", rel: "noopener noreferrer" });
  } else {
    const spec = ENTITY_ELEMENTS[entity.type];
    if (!spec) return node;
    wrapper = element(...spec);
  }
  wrapper.append(node);
  return wrapper;
}

function messageElement(pane, message, me) {
  const fromBot = Boolean(message.from?.is_bot);
  const node = element("div", `message ${fromBot ? "from-bot" : "from-user"}`);
  node.classList.toggle("mine", !fromBot && message.from?.id === me);
  node.dataset.messageId = message.message_id;
  node.append(metaLine(pane, message));
  if (message.reply_to_message) {
    const quoted = message.reply_to_message;
    node.append(element("div", "quote", `${fullName(quoted.from)}: ${summary(quoted)}`));
  }
  const label = mediaLabel(message);
  if (label) node.append(element("div", "media", label));
  const [body, entities] = message.text !== undefined
    ? [message.text, message.entities]
    : [message.caption, message.caption_entities];
  if (body) {
    const text = element("div", "text");
    text.append(formatted(body, entities || []));
    node.append(text);
  }
  if (message.reply_markup?.inline_keyboard) node.append(keyboard(pane, message));
  return node;
}

function metaLine(pane, message) {
  const meta = element("div", "meta");
  meta.append(element("span", "sender", fullName(message.from)));
  if (message.via_bot) meta.append(element("span", "via", `via @${message.via_bot.username}`));
  meta.append(element("span", "time", clockTime(message.date)));
  if (message.edit_date) meta.append(element("span", "edited", "edited"));
  const reply = element("button", "reply", "↩");
  Object.assign(reply, { type: "button", title: "Reply" });
  reply.addEventListener("click", () => setReply(pane, message));
  meta.append(reply);
  return meta;
}

function keyboard(pane, message) {
  const board = element("div", "keyboard");
  for (const row of message.reply_markup.inline_keyboard) {
    const line = element("div", "keyboard-row");
    for (const spec of row) line.append(inlineButton(pane, message, spec));
    board.append(line);
  }
  return board;
}

function inlineButton(pane, message, spec) {
  const button = element("button", "inline-button", spec.text);
  button.type = "button";
  if (spec.callback_data !== undefined) {
    button.addEventListener("click", () => press(pane, message, spec.callback_data, button));
  } else if (spec.url) {
    button.classList.add("url");
    button.title = spec.url;
    button.addEventListener("click", () => openLink(spec.url));
  } else {
    button.disabled = true;
    button.title = "Not available in the sandbox";
  }
  return button;
}

// --- acting --------------------------------------------------------------------------------

async function press(pane, message, data, button) {
  button.disabled = true;
  try {
    const { callback_query: query } = await api("POST", `/sandbox/users/${pane.actor()}/press`, {
      chat_id: pane.chatId,
      message_id: message.message_id,
      data,
    });
    const answer = await callbackAnswer(query.id);
    if (answer === null) toast(pane, "The bot did not answer this button", "error");
    else if (answer.text) toast(pane, answer.text, answer.show_alert ? "alert" : "");
  } catch (error) {
    toast(pane, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function openLink(url) {
  const href = safeUrl(url);
  if (href) window.open(href, "_blank", "noopener");
}

// Sends go out one after another per pane, so quick messages keep their order.
function send(pane) {
  const text = pane.compose.value;
  if (!text.trim()) return;
  const body = { text };
  if (pane.isGroup) body.chat_id = pane.chatId;
  if (pane.replyTo !== null) body.reply_to_message_id = pane.replyTo;
  const actor = pane.actor();
  pane.compose.value = "";
  autosize(pane.compose);
  showInline(pane, null, []);
  setReply(pane, null);
  pane.outbox = pane.outbox.then(async () => {
    try {
      await api("POST", `/sandbox/users/${actor}/send`, body);
      pane.stick = true;
      scheduleRefresh(pane.chatId);
    } catch (error) {
      if (!pane.compose.value) pane.compose.value = text;
      toast(pane, error.message, "error");
    }
  });
}

// Inline mode: "@<bot> words" in the message box asks the bot and lists its results above it.
function inlineWords(pane) {
  const match = pane.compose.value.match(/^@(\w+)\s([^]*)$/);
  return match?.[1] === state.setup.bot.username ? match[2] : null;
}

function scheduleInline(pane) {
  clearTimeout(pane.inlineTimer);
  const words = inlineWords(pane);
  if (words === null) return showInline(pane, null, []);
  const ask = () => askInline(pane, words).catch((error) => toast(pane, error.message, "error"));
  pane.inlineTimer = setTimeout(ask, INLINE_DEBOUNCE_MS);
}

async function askInline(pane, words) {
  const body = pane.isGroup ? { query: words, chat_id: pane.chatId } : { query: words };
  const asked = await api("POST", `/sandbox/users/${pane.actor()}/inline`, body);
  const deadline = Date.now() + ANSWER_WAIT_MS;
  while (inlineWords(pane) === words && Date.now() < deadline) {
    const found = await api("GET", `/sandbox/inline/${asked.inline_query_id}`);
    if (found.answered) return showInline(pane, asked.inline_query_id, found.answer.results);
    await sleep(ANSWER_POLL_MS);
  }
}

function showInline(pane, queryId, results) {
  const list = pane.el.querySelector(".inline-results");
  list.replaceChildren(...results.map((result) => {
    const item = element("button", "inline-result", result.title || result.id);
    item.type = "button";
    item.addEventListener("click", () => chooseInline(pane, queryId, result.id));
    return item;
  }));
  list.hidden = !results.length;
}

async function chooseInline(pane, queryId, resultId) {
  const body = { inline_query_id: queryId, result_id: String(resultId) };
  try {
    await api("POST", `/sandbox/users/${pane.actor()}/choose`, body);
    pane.compose.value = "";
    autosize(pane.compose);
    showInline(pane, null, []);
  } catch (error) {
    toast(pane, error.message, "error");
  }
}

function setReply(pane, message) {
  pane.replyTo = message ? message.message_id : null;
  const bar = pane.el.querySelector(".replying");
  bar.hidden = !message;
  bar.querySelector(".replying-text").textContent = message
    ? `Replying to: ${fullName(message.from)}: ${summary(message)}`
    : "";
  if (message) pane.compose.focus();
}

function toast(pane, text, kind = "") {
  const note = element("div", `toast ${kind}`.trim(), text);
  const remove = () => note.remove();
  note.addEventListener("click", remove);
  pane.el.querySelector(".toasts").append(note);
  setTimeout(remove, kind === "alert" ? 2 * TOAST_MS : TOAST_MS);
}

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${textarea.scrollHeight}px`;
}

// --- panes ---------------------------------------------------------------------------------

function createPane({ key, chatId, title, subtitle, actor, container, isGroup = false }) {
  const el = $("pane-template").content.firstElementChild.cloneNode(true);
  el.dataset.pane = key;
  el.querySelector(".pane-title").textContent = title;
  el.querySelector(".pane-sub").textContent = subtitle;
  el.querySelector(".compose").placeholder = `Message the bot as ${title}`;
  const pane = {
    key, chatId, actor, el, isGroup,
    list: el.querySelector(".messages"),
    compose: el.querySelector(".compose"),
    messages: [],
    rendered: false,
    stick: false,
    replyTo: null,
    seq: 0,
    outbox: Promise.resolve(),
  };
  wireComposer(pane);
  container.append(el);
  state.panes.set(chatId, pane);
  scheduleRefresh(chatId);
  return pane;
}

function wireComposer(pane) {
  const form = pane.el.querySelector(".composer");
  pane.compose.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  pane.compose.addEventListener("input", () => {
    autosize(pane.compose);
    scheduleInline(pane);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(pane);
  });
  pane.el.querySelector(".cancel-reply").addEventListener("click", () => setReply(pane, null));
}

function addCustomer(user) {
  if (state.panes.has(user.id) || user.is_bot || state.agentIds.has(user.id)) return;
  if (user.id === state.setup.bot.id) return;
  const language = user.language_code ? ` · language: ${user.language_code}` : "";
  createPane({
    key: `customer-${user.id}`,
    chatId: user.id, // a private chat's id is the user's id, as on Telegram
    title: fullName(user),
    subtitle: `customer${language}`,
    actor: () => user.id,
    container: $("customer-panes"),
  });
}

function addAgentPane(agent) {
  const handle = agent.username ? ` · @${agent.username}` : "";
  createPane({
    key: `agent-${agent.id}`,
    chatId: agent.id,
    title: fullName(agent),
    subtitle: `agent${handle} · private chat with the bot`,
    actor: () => agent.id,
    container: $("agent-panes"),
  });
}

function addGroupPane(group, agents) {
  const select = element("select", "as-agent");
  for (const agent of agents) {
    const option = element("option", "", fullName(agent));
    option.value = agent.id;
    select.append(option);
  }
  const pane = createPane({
    key: "group",
    chatId: group.id,
    title: group.title,
    subtitle: "agents group",
    actor: () => Number(select.value),
    container: $("group-column"),
    isGroup: true,
  });
  const label = element("label", "acting-as", "acting as ");
  label.append(select);
  pane.el.querySelector(".pane-head").append(label);
  const showActor = () => {
    pane.compose.placeholder = `Message the group as ${select.selectedOptions[0]?.text ?? "?"}`;
  };
  select.addEventListener("change", () => {
    showActor();
    renderMessages(pane);
  });
  showActor();
}

// --- keeping panes current ---------------------------------------------------------------

function scheduleRefresh(chatId) {
  if (!state.panes.has(chatId) || state.timers.has(chatId)) return;
  const timer = setTimeout(() => {
    state.timers.delete(chatId);
    refresh(state.panes.get(chatId));
  }, DEBOUNCE_MS);
  state.timers.set(chatId, timer);
}

function refreshAll() {
  for (const chatId of state.panes.keys()) scheduleRefresh(chatId);
}

async function refresh(pane) {
  const seq = ++pane.seq;
  let messages;
  try {
    messages = (await api("GET", `/sandbox/chats/${pane.chatId}/messages`)).messages;
  } catch (error) {
    if (error.status !== 404) return; // the stream's next (re)connect fetches again
    messages = []; // the chat is gone (the sandbox was reset)
  }
  if (seq !== pane.seq) return; // a newer fetch answers for this pane
  pane.messages = messages;
  renderMessages(pane);
}

function renderMessages(pane) {
  const list = pane.list;
  const atBottom = !pane.rendered || pane.stick
    || list.scrollHeight - list.scrollTop - list.clientHeight < BOTTOM_SLACK_PX;
  const me = pane.actor();
  const nodes = pane.messages.map((message) => messageElement(pane, message, me));
  list.replaceChildren(...(nodes.length ? nodes : [element("p", "empty", emptyNote(pane))]));
  if (atBottom) list.scrollTop = list.scrollHeight;
  pane.rendered = true;
  pane.stick = false;
}

function emptyNote(pane) {
  const customer = pane.key.startsWith("customer-");
  return customer ? "No messages yet. Say hello, or send /start." : "No messages yet.";
}

async function syncUsers() {
  try {
    const { users } = await api("GET", "/sandbox/users");
    users.forEach(addCustomer);
  } catch (error) {
    console.warn("could not list the sandbox's users:", error.message);
  }
}

// --- live events -------------------------------------------------------------------------

// Event type → the chat it changes (see sandbox/state.py and sandbox/methods/messages.py).
const CHAT_OF_EVENT = {
  message: (event) => event.message.chat.id,
  edited: (event) => event.message.chat.id,
  deleted: (event) => event.chat_id,
  pinned: (event) => event.chat_id,
  unpinned: (event) => event.chat_id,
};

function setConnection(text, live) {
  const indicator = $("connection");
  indicator.textContent = text;
  indicator.classList.toggle("live", live);
  indicator.classList.toggle("down", !live);
}

function listen(source, type, handle) {
  source.addEventListener(type, (raw) => handle(JSON.parse(raw.data)));
}

// The browser reconnects a dropped stream by itself; each (re)open fetches everything again,
// since events sent while it was down are lost. A refused stream is closed: start anew.
function connect() {
  const source = new EventSource(`${state.api}/sandbox/events`);
  setConnection("connecting…", false);
  source.addEventListener("open", () => {
    setConnection("live", true);
    syncUsers();
    refreshAll();
  });
  source.addEventListener("error", () => {
    setConnection("reconnecting…", false);
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  });
  for (const [type, chatOf] of Object.entries(CHAT_OF_EVENT)) {
    listen(source, type, (event) => scheduleRefresh(chatOf(event)));
  }
  listen(source, "user_created", (event) => addCustomer(event.user));
  listen(source, "reset", refreshAll);
}

// --- start -------------------------------------------------------------------------------

function renderHeader(setup) {
  const bot = setup.bot;
  const handle = bot.username ? ` · @${bot.username}` : "";
  $("bot-name").textContent = `${bot.first_name}${handle}`;
  if (setup.dashboard) {
    $("dashboard-link").href = setup.dashboard;
    $("dashboard-link").hidden = false;
  }
}

function wireNewCustomer() {
  $("new-customer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("new-customer-name");
    const status = $("new-customer-status");
    const customers = [...state.panes.values()].filter((p) => p.key.startsWith("customer-"));
    const body = {
      first_name: name.value.trim() || `Customer ${customers.length + 1}`,
      language_code: $("new-customer-language").value,
    };
    try {
      const user = await api("POST", "/sandbox/users", body);
      addCustomer(user);
      name.value = "";
      status.textContent = "";
      state.panes.get(user.id)?.compose.focus();
    } catch (error) {
      status.textContent = error.message;
    }
  });
}

async function main() {
  const response = await fetch("/ui/setup.json");
  const setup = await response.json();
  state.setup = setup;
  state.api = setup.api.replace(/\/+$/, "");
  state.agentIds = new Set(setup.agents.map((agent) => agent.id));
  renderHeader(setup);
  setup.customers.forEach(addCustomer);
  if (setup.group) addGroupPane(setup.group, setup.agents);
  setup.agents.forEach(addAgentPane);
  wireNewCustomer();
  connect();
}

main().catch((error) => setConnection(`failed to start: ${error.message}`, false));
