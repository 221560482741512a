// kith's browser extension, page part. On a Mastodon or GoToSocial page
// it finds the account handles, asks the background part (which alone
// talks to the kith node on this computer) for the owner's trust in them,
// puts a small badge beside each handle, and folds away replies from
// accounts trusted below the owner's threshold, with a button that says
// why and shows them. On any other page it does nothing and sends
// nothing.
"use strict";

(() => {
  const api = globalThis.browser ?? globalThis.chrome;

  // The kind of page: GoToSocial's server-rendered pages or Mastodon's
  // web app; null for any other site.
  function site() {
    if (document.querySelector("#mastodon, body.app-body")) return "mastodon";
    // GoToSocial's templates: <body class="page ..."> with its
    // page-header, and a thread or a profile.
    if (document.querySelector("body.page > header.page-header") &&
        document.querySelector("main.thread-wrapper, main.profile")) return "gotosocial";
    return null;
  }

  // handleOf reads "@user" or "@user@host" and returns "@user@host"; an
  // account of this instance has the page's host.
  function handleOf(text) {
    const m = /^@?([A-Za-z0-9_.-]+)(?:@([A-Za-z0-9.-]+(?::[0-9]+)?))?$/.exec(text.trim());
    if (!m) return null;
    return "@" + m[1] + "@" + (m[2] || location.host);
  }

  // entries lists, for the kind of page, each handle element and the post
  // it heads (null for a profile header), and whether that post is a
  // reply in a thread.
  function entries(kind) {
    const out = [];
    if (kind === "gotosocial") {
      for (const el of document.querySelectorAll("article.status .status-header .username")) {
        const post = el.closest("article.status");
        out.push({ el, post, reply: !!post.closest("section.thread-replies") });
      }
      for (const el of document.querySelectorAll("main.profile .profile-header .username")) {
        out.push({ el, post: null, reply: false });
      }
    } else {
      // Mastodon: a thread shows the focused post, then its replies.
      const focused = document.querySelector(".detailed-status__wrapper");
      for (const el of document.querySelectorAll(".status .display-name__account, .detailed-status .display-name__account, .account__header__tabs__name small, .account__header__username")) {
        const post = el.closest(".status__wrapper, .status, .detailed-status");
        let reply = false;
        if (focused && post && !focused.contains(post)) {
          reply = !!(focused.compareDocumentPosition(post) & Node.DOCUMENT_POSITION_FOLLOWING);
        }
        out.push({ el, post, reply });
      }
    }
    return out.filter((e) => !e.el.closest(".kith-badge"));
  }

  function badgeText(a) {
    if (!a.valid || !a.covered || a.score == null) return "kith –";
    return "kith " + a.score.toFixed(2);
  }

  function why(a) {
    return a.summary || "no evidence";
  }

  function badge(el, a) {
    let b = el.nextElementSibling;
    if (!b || !b.classList.contains("kith-badge")) {
      b = document.createElement("span");
      b.className = "kith-badge";
      el.after(b);
    }
    const level = !a.covered || a.score == null ? "none" : a.score < 0.35 ? "low" : a.score > 0.65 ? "high" : "mid";
    b.dataset.level = level;
    b.dataset.subject = a.subject;
    b.textContent = badgeText(a);
    b.title = "kith, your own trust: " + why(a);
    b.setAttribute("aria-label", "kith trust " + (a.covered && a.score != null ? a.score.toFixed(2) : "unknown") + ": " + why(a));
  }

  // fold hides a reply's body behind a button that says why.
  function fold(post, a, threshold) {
    if (post.dataset.kithFolded) return;
    post.dataset.kithFolded = "1";
    post.classList.add("kith-folded");
    const bar = document.createElement("div");
    bar.className = "kith-fold";
    const msg = document.createElement("span");
    msg.textContent = "Folded by kith: your trust in " + a.subject + " is " + a.score.toFixed(2) + ", below " + threshold.toFixed(2) + ": " + why(a) + ".";
    const btn = document.createElement("button");
    btn.type = "button";
    btn.textContent = "Show";
    btn.setAttribute("aria-expanded", "false");
    btn.addEventListener("click", () => {
      const shown = post.classList.toggle("kith-folded");
      btn.textContent = shown ? "Show" : "Fold again";
      btn.setAttribute("aria-expanded", shown ? "false" : "true");
    });
    bar.append(msg, btn);
    post.prepend(bar);
  }

  let busy = false;
  let again = false;
  async function scan() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const kind = site();
      if (!kind) return;
      const es = entries(kind).map((e) => ({ ...e, subject: handleOf(e.el.textContent) })).filter((e) => e.subject);
      if (es.length === 0) return;
      let res;
      try {
        res = await api.runtime.sendMessage({ type: "query", subjects: es.map((e) => e.subject) });
      } catch (e) {
        return; // the extension was reloaded: stay quiet
      }
      if (!res) return; // the node is down or not paired: stay quiet
      for (const e of es) {
        const a = res.answers[e.subject];
        if (!a) continue;
        badge(e.el, a);
        if (res.collapse && e.reply && e.post && a.covered && a.score != null && a.score < res.threshold) {
          fold(e.post, a, res.threshold);
        }
      }
      document.documentElement.dataset.kith = "ready";
    } finally {
      busy = false;
      if (again) {
        again = false;
        setTimeout(scan, 250);
      }
    }
  }

  if (!site()) return;
  scan();
  // Mastodon's web app draws posts as one scrolls.
  let timer = null;
  new MutationObserver((muts) => {
    if (muts.every((m) => [...m.addedNodes].every((n) => n.nodeType !== 1 || n.classList.contains("kith-badge") || n.classList.contains("kith-fold")))) return;
    clearTimeout(timer);
    timer = setTimeout(scan, 300);
  }).observe(document.body, { childList: true, subtree: true });
})();
