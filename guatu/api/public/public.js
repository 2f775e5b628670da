/* 信息公开: reads /public/api (no token) and renders it, Chinese first. */
(() => {
  "use strict";
  const TEXT = {
    zh: {
      title: "温江区幸福美好生活十大工程 · 信息公开", asOf: "数据截至", cached: "数据每分钟更新",
      sample: "示例数据：虚构的示例项目，仅供演示，不是真实数据", progress: "总体进展",
      scenes: "示范场景",
      sceneRule: "场景灯：三分之一以上成员项目红灯，或完成投资低于序时计划 70%，为红灯；有成员项目红灯或黄灯，或低于 90%，为黄灯；否则为绿灯。",
      footer: "本页只公开汇总数据与项目进度，不含内部意见、个人信息和未发布的排名。",
      projects: "项目", total: "计划总投资", planned: "序时计划", actual: "完成投资",
      vsPlanned: "完成序时", year: "年度目标 / 完成", lights: "绿 / 黄 / 红", start: "开工率",
      finish: "完工率", program: "工程", lead: "牵头单位", members: "成员项目",
      milestones: "节点按期", light: "场景灯", noScenes: "尚未公布示范场景。",
      illustrative: "示例", none: "未亮灯", green: "绿灯", yellow: "黄灯", red: "红灯",
      notStarted: "未启动", failed: "数据暂时无法读取，请稍后刷新。", tooMany: "访问过于频繁，请稍后再试。",
      opportunities: "机会清单",
      oppIntro: "面向企业发布的投资、运营、采购和场地合作机会。截止日期前，企业可提交合作意向，责任单位在规定的工作日内答复；企业提交的信息只送达责任单位，不在本页公开。",
      noOpps: "暂无发布的机会。", oppKind: "类型", oppSubject: "所属", amount: "金额", negotiable: "面议",
      conditions: "条件", closesOn: "截止日期", oppStatus: "状态", answeredBy: "答复单位",
      description: "说明", interest: "提交合作意向", company: "企业名称", uscc: "统一社会信用代码",
      contactName: "联系人", phone: "联系电话", email: "电子邮箱（选填）", message: "意向说明（选填）",
      submit: "提交", submitting: "正在提交…", checkFields: "请检查以下内容：",
      sendFailed: "提交未成功，请稍后再试。",
      satisfaction: "市民观察满意度",
      satIntro: "市民对项目和示范场景的观察：责任单位按时答复的比例（答复及时率）和市民对答复满意的比例（满意率）。只公开汇总数字，不含观察人、观察内容和照片。",
      noObs: "尚无市民观察数据。", satAsOf: "统计截至", byBureau: "按责任单位", byScene: "按示范场景",
      byProject: "按项目", name: "名称", observations: "观察数", avgRating: "平均评分（1–5）",
      repliesDue: "应答复", onTime: "按时答复", timeliness: "答复及时率", rated: "已评价",
      satisfied: "满意", satisfactionRate: "满意率", escalated: "转区幸福办",
    },
    en: {
      title: "Wenjiang Ten Programmes for a Happy Life · public information", asOf: "Data as of",
      cached: "updated every minute", sample: "Sample data: invented projects for demonstration, not real figures",
      progress: "Programme progress", scenes: "Demonstration scenes",
      sceneRule: "Scene light: red when a third or more of its projects are red, or investment is below 70% of the plan to date; yellow when any project is red or yellow, or below 90%; green otherwise.",
      footer: "This page publishes aggregate figures and project progress only: no internal notes, personal data or unpublished rankings.",
      projects: "Projects", total: "Planned total", planned: "Plan to date", actual: "Invested",
      vsPlanned: "Of plan to date", year: "Year target / done", lights: "Green / yellow / red",
      start: "Start rate", finish: "Completion rate", program: "Programme", lead: "Lead bureau",
      members: "Projects", milestones: "Milestones on time", light: "Scene light",
      noScenes: "No demonstration scenes published yet.", illustrative: "sample", none: "no light yet",
      green: "green", yellow: "yellow", red: "red", notStarted: "not started",
      failed: "The data cannot be read right now; please refresh later.", tooMany: "Too many requests; please retry shortly.",
      opportunities: "Opportunity lists",
      oppIntro: "Investment, operation, procurement and venue opportunities for enterprises. Before the closing date an enterprise may express its interest; the responsible bureau answers within the set working days. What an enterprise sends goes to that bureau only and is not published here.",
      noOpps: "No opportunities published yet.", oppKind: "Kind", oppSubject: "For", amount: "Amount",
      negotiable: "negotiable", conditions: "Conditions", closesOn: "Closing date", oppStatus: "Status",
      answeredBy: "Answered by", description: "Description", interest: "Express interest",
      company: "Company name", uscc: "Unified social credit code", contactName: "Contact person",
      phone: "Phone", email: "E-mail (optional)", message: "Message (optional)", submit: "Submit",
      submitting: "Submitting…", checkFields: "Please check: ",
      sendFailed: "The submission did not go through; please try again later.",
      satisfaction: "Citizen observations: satisfaction",
      satIntro: "Citizens' observations of projects and scenes: the share of replies the responsible bureau gave on time (timeliness) and the share of rated replies the citizen was satisfied with (satisfaction). Aggregate figures only: no observer, text or photo.",
      noObs: "No citizen observations yet.", satAsOf: "As of", byBureau: "By bureau", byScene: "By scene",
      byProject: "By project", name: "Name", observations: "Observations", avgRating: "Average rating (1–5)",
      repliesDue: "Replies due", onTime: "On time", timeliness: "Timeliness", rated: "Rated",
      satisfied: "Satisfied", satisfactionRate: "Satisfaction", escalated: "To the Happiness Office",
    },
  };
  // Opportunity kinds, subjects and statuses in English (the API names them in Chinese).
  const EN = {
    investment: "Investment", operation: "Operation", procurement: "Procurement", venue: "Venue",
    project: "Project", scene: "Scene", open: "open for interest", closed: "closed",
  };
  // The fields of an expression of interest: [name, label key, input attributes].
  const FIELDS = [
    ["company_name", "company", 'required minlength="2" maxlength="100" autocomplete="organization"'],
    ["uscc", "uscc", 'required maxlength="40" autocomplete="off" spellcheck="false"'],
    ["contact_name", "contactName", 'required maxlength="50" autocomplete="name"'],
    ["contact_phone", "phone", 'required maxlength="30" type="tel" autocomplete="tel"'],
    ["contact_email", "email", 'maxlength="300" type="email" autocomplete="email"'],
  ];
  const state = {
    lang: "zh", overview: null, scenes: null, opportunities: null, satisfaction: null,
    forms: {}, // opportunity id -> { open, values, result: { ok, zh, en } }
  };
  const $ = (s) => document.querySelector(s);
  const t = (k) => TEXT[state.lang][k] ?? TEXT.zh[k] ?? k;
  const zh = () => state.lang === "zh";
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const pct = (x) => (x === null || x === undefined ? "—" : `${Number(x).toFixed(1)}%`);
  const yi = (wan) => (zh() ? `${(wan / 10000).toFixed(2)} 亿元` : `CNY ${((wan * 1e4) / 1e9).toFixed(2)} bn`);
  const dot = (light) => `<span class="dot ${esc(light || "")}"></span>`;

  async function get(path) {
    const r = await fetch(`/public/api/${path}`, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(r.status === 429 ? t("tooMany") : t("failed"));
    return r.json();
  }

  function figures(f) {
    const l = f.lights;
    // [key, label, HTML value (every piece escaped)]
    return [
      ["projects", esc(f.projects)], ["total", esc(yi(f.total_investment_wan))],
      ["planned", esc(yi(f.planned_investment_to_date_wan))],
      ["actual", esc(yi(f.actual_investment_wan))], ["vsPlanned", esc(pct(f.actual_vs_planned_pct))],
      ["lights", `${dot("green")}${esc(l.green)} ${dot("yellow")}${esc(l.yellow)} ${dot("red")}${esc(l.red)}`],
      ["start", esc(pct(f.start_rate_pct))], ["finish", esc(pct(f.completion_rate_pct))],
    ];
  }

  function renderOverview() {
    const ov = state.overview;
    if (!ov) return;
    $("#as-of").textContent = ov.as_of;
    $("#sample-note").hidden = !ov.illustrative;
    $("#kpis").innerHTML = figures(ov.total).map(([k, v]) =>
      `<div class="kpi"><div class="label">${esc(t(k))}</div><div class="value" data-kpi="${k}">${v}</div></div>`).join("");
    const head = `<thead><tr><th>${esc(t("program"))}</th><th class="n">${esc(t("projects"))}</th>
      <th class="n">${esc(t("total"))}</th><th class="n">${esc(t("actual"))}</th>
      <th class="n">${esc(t("vsPlanned"))}</th><th class="n">${esc(t("year"))}</th>
      <th>${esc(t("lights"))}</th></tr></thead>`;
    const rows = ov.programs.map((p) => `<tr data-program="${esc(p.code)}">
      <td>${esc(zh() ? p.name_zh : p.name_en || p.name_zh)}</td><td class="n">${p.projects}</td>
      <td class="n">${esc(yi(p.total_investment_wan))}</td><td class="n">${esc(yi(p.actual_investment_wan))}</td>
      <td class="n">${esc(pct(p.actual_vs_planned_pct))}</td>
      <td class="n">${esc(yi(p.year_target_wan))} / ${esc(yi(p.year_actual_wan))}</td>
      <td>${dot("green")}${p.lights.green} ${dot("yellow")}${p.lights.yellow} ${dot("red")}${p.lights.red}</td></tr>`).join("");
    $("#programs").innerHTML = `${head}<tbody>${rows}</tbody>`;
  }

  function renderScenes() {
    const list = state.scenes;
    if (!list) return;
    if (!list.length) {
      $("#scenes").innerHTML = `<p class="muted">${esc(t("noScenes"))}</p>`;
      return;
    }
    $("#scenes").innerHTML = list.map((s) => {
      const p = s.progress;
      const light = s.light === "none" ? t("none") : t(s.light);
      const reasons = (zh() ? s.light_reasons_zh : s.light_reasons_en).join(zh() ? "；" : "; ");
      const members = s.members.map((m) =>
        `<li>${dot(m.light)}${esc(m.name_zh)}</li>`).join("");
      return `<article class="scene" data-scene="${esc(s.code)}" data-light="${esc(s.light)}">
        <h3>${esc(zh() ? s.name_zh : s.name_en || s.name_zh)}${s.illustrative ? ` <span class="muted">（${esc(t("illustrative"))}）</span>` : ""}</h3>
        <div class="muted">${esc(t("program"))}：${esc(s.program_name_zh)} · ${esc(t("lead"))}：${esc(s.lead_bureau_name_zh)}</div>
        <p>${esc(s.description)}</p>
        <div><b>${esc(t("light"))}</b>：${dot(s.light)}<span class="scene-light">${esc(light)}</span> — <span class="reasons">${esc(reasons)}</span></div>
        <div>${esc(t("actual"))} ${esc(yi(p.actual_investment_wan))} / ${esc(t("planned"))} ${esc(yi(p.planned_investment_to_date_wan))}（${esc(pct(100 * p.investment_ratio))}）
          · ${esc(t("milestones"))} ${p.milestones_met}/${p.milestones_due}</div>
        <div>${esc(t("members"))}：${dot("green")}${p.lights.green} ${dot("yellow")}${p.lights.yellow} ${dot("red")}${p.lights.red}</div>
        <ul>${members}</ul></article>`;
    }).join("");
  }

  const money = (wan) => {
    if (wan === null || wan === undefined) return t("negotiable");
    return zh() ? `${Number(wan).toLocaleString("zh-CN")} 万元` : `CNY ${(wan / 100).toFixed(2)} m`;
  };

  function formState(id) {
    return (state.forms[id] ??= { open: false, values: {}, result: null });
  }

  // Keep what a visitor typed (and which forms are open) across a re-render (language).
  function keepForms() {
    for (const form of document.querySelectorAll("#opportunities form[data-opportunity]")) {
      const f = formState(form.dataset.opportunity);
      f.values = Object.fromEntries(new FormData(form));
      f.open = form.closest("details").open;
    }
  }

  function resultHtml(r) {
    if (!r) return "";
    return `<span>${esc(zh() ? r.zh : r.en || r.zh)}</span>`;
  }

  function interestForm(o) {
    const f = formState(o.id);
    const v = f.values;
    const inputs = FIELDS.map(([name, key, attrs]) => `<label>${esc(t(key))}
      <input name="${name}" ${attrs} value="${esc(v[name])}"></label>`).join("");
    const r = f.result;
    return `<details class="interest"${f.open ? " open" : ""}><summary>${esc(t("interest"))}</summary>
      <form data-opportunity="${esc(o.id)}" novalidate>${inputs}
        <label class="wide">${esc(t("message"))}<textarea name="message" rows="2" maxlength="2000">${esc(v.message)}</textarea></label>
        <button type="submit">${esc(t("submit"))}</button>
        <p class="result wide${r ? (r.ok ? " ok" : " err") : ""}" role="status" data-result="${r ? (r.ok ? "ok" : "error") : ""}"${r ? "" : " hidden"}>${resultHtml(r)}</p>
      </form></details>`;
  }

  function renderOpportunities() {
    const list = state.opportunities;
    if (!list) return;
    if (!list.length) {
      $("#opportunities").innerHTML = `<p class="muted">${esc(t("noOpps"))}</p>`;
      return;
    }
    $("#opportunities").innerHTML = list.map((o) => {
      const kind = zh() ? o.kind_zh : EN[o.kind] || o.kind_zh;
      const subject = `${zh() ? o.subject_zh : EN[o.subject_kind] || o.subject_zh}：${o.subject_name_zh || o.subject}`;
      const status = zh() ? o.status_zh : EN[o.status] || o.status_zh;
      const rows = [
        ["oppKind", kind], ["oppSubject", subject], ["amount", money(o.amount_wan)],
        ["conditions", o.conditions || "—"], ["closesOn", o.closes_on], ["answeredBy", o.bureau_name_zh],
      ];
      if (o.description) rows.push(["description", o.description]);
      const dl = rows.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd data-field="${k}">${esc(v)}</dd>`).join("");
      return `<article class="opportunity" data-opportunity="${esc(o.id)}" data-status="${esc(o.status)}">
        <h3><span class="tag ${esc(o.status)}">${esc(status)}</span><span class="tag">${esc(kind)}</span>${esc(o.title_zh)}</h3>
        <dl>${dl}</dl>${o.status === "open" ? interestForm(o) : ""}</article>`;
    }).join("");
  }

  // The server's refusal, Chinese first; a malformed field is named by its label.
  function refusal(status, body) {
    if (!body || typeof body.zh !== "string") {
      const text = status === 429 ? "tooMany" : "sendFailed";
      return { ok: false, zh: TEXT.zh[text], en: TEXT.en[text] };
    }
    const fields = (Array.isArray(body.details) ? body.details : [])
      .map((d) => (Array.isArray(d.loc) ? d.loc[d.loc.length - 1] : ""))
      .map((name) => FIELDS.find(([n]) => n === name)?.[1] ?? (name === "message" ? "message" : null))
      .filter((k, i, all) => k && all.indexOf(k) === i);
    if (body.code === "invalid_input" && fields.length) {
      return {
        ok: false,
        zh: TEXT.zh.checkFields + fields.map((k) => TEXT.zh[k]).join("、"),
        en: TEXT.en.checkFields + fields.map((k) => TEXT.en[k]).join(", "),
      };
    }
    return { ok: false, zh: body.zh, en: body.en || body.zh };
  }

  async function submitInterest(form) {
    const id = form.dataset.opportunity;
    const f = formState(id);
    const data = Object.fromEntries(new FormData(form));
    f.values = data;
    const body = {};
    for (const [name] of FIELDS) body[name] = String(data[name] ?? "").trim();
    body.message = String(data.message ?? "").trim();
    const button = form.querySelector("button");
    button.disabled = true;
    button.textContent = t("submitting");
    let result;
    try {
      const r = await fetch(`/public/api/opportunities/${encodeURIComponent(id)}/interest`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      let answer = null;
      try { answer = await r.json(); } catch { answer = null; }
      if (r.ok && answer) {
        result = { ok: true, zh: answer.message_zh, en: answer.message_en, interest: answer.interest_id };
      } else {
        result = refusal(r.status, answer);
      }
    } catch {
      result = { ok: false, zh: TEXT.zh.sendFailed, en: TEXT.en.sendFailed };
    }
    f.result = result;
    button.disabled = false;
    button.textContent = t("submit");
    const p = form.querySelector("[data-result]");
    p.className = `result wide ${result.ok ? "ok" : "err"}`;
    p.dataset.result = result.ok ? "ok" : "error";
    p.innerHTML = resultHtml(result);
    p.hidden = false;
  }

  const rate = (x) => (x === null || x === undefined ? "—" : `${(Number(x) * 100).toFixed(1)}%`);
  const num = (x) => (x === null || x === undefined ? "—" : String(x));
  const stars = (x) => (x === null || x === undefined ? "—" : Number(x).toFixed(2));

  function renderSatisfaction() {
    const s = state.satisfaction;
    if (!s) return;
    const total = s.total;
    if (!total.observations) {
      $("#sat-kpis").innerHTML = "";
      $("#satisfaction").innerHTML = `<p class="muted">${esc(t("noObs"))}</p>`;
      return;
    }
    $("#sat-kpis").innerHTML = [
      ["observations", num(total.observations)], ["avgRating", stars(total.average_rating)],
      ["timeliness", rate(total.timeliness)], ["satisfactionRate", rate(total.satisfaction)],
    ].map(([k, v]) => `<div class="kpi"><div class="label">${esc(t(k))}</div><div class="value" data-sat="${k}">${esc(v)}</div></div>`).join("");
    const cols = [
      ["observations", (f) => num(f.observations)], ["avgRating", (f) => stars(f.average_rating)],
      ["repliesDue", (f) => num(f.replies_due)], ["onTime", (f) => num(f.replied_on_time)],
      ["timeliness", (f) => rate(f.timeliness)], ["rated", (f) => num(f.rated)],
      ["satisfied", (f) => num(f.satisfied)], ["satisfactionRate", (f) => rate(f.satisfaction)],
      ["escalated", (f) => num(f.escalated)],
    ];
    const head = `<thead><tr><th>${esc(t("name"))}</th>${cols.map(([k]) => `<th class="n">${esc(t(k))}</th>`).join("")}</tr></thead>`;
    const table = (level, title, items) => (items.length ? `<h3 class="sat-level">${esc(t(title))}</h3>
      <div class="table-wrap"><table data-level="${level}">${head}<tbody>${items.map((f) => `<tr data-code="${esc(f.code)}">
        <td>${esc(f.name_zh || f.code)}</td>${cols.map(([k, get]) => `<td class="n" data-col="${k}">${esc(get(f))}</td>`).join("")}</tr>`).join("")}</tbody></table></div>` : "");
    $("#satisfaction").innerHTML = `<p class="muted">${esc(t("satAsOf"))} ${esc(s.as_of)}</p>`
      + table("bureaus", "byBureau", s.bureaus) + table("scenes", "byScene", s.scenes)
      + table("projects", "byProject", s.projects);
  }

  function render() {
    document.documentElement.lang = zh() ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("#lang").textContent = zh() ? "English" : "中文";
    renderOverview();
    renderScenes();
    renderOpportunities();
    renderSatisfaction();
  }

  async function load() {
    const answers = await Promise.allSettled(
      ["overview", "scenes", "opportunities", "satisfaction"].map(get));
    const [ov, sc, op, sat] = answers;
    if (ov.status === "fulfilled") state.overview = ov.value;
    if (sc.status === "fulfilled") state.scenes = sc.value;
    if (op.status === "fulfilled") state.opportunities = op.value;
    if (sat.status === "fulfilled") state.satisfaction = sat.value;
    const failed = answers.find((x) => x.status === "rejected");
    $("#error").hidden = !failed;
    if (failed) $("#error").textContent = failed.reason.message;
    render();
    document.body.dataset.loaded = "1";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#lang").addEventListener("click", () => {
      keepForms();
      state.lang = zh() ? "en" : "zh";
      render();
    });
    $("#opportunities").addEventListener("submit", (event) => {
      const form = event.target.closest("form[data-opportunity]");
      if (!form) return;
      event.preventDefault();
      submitInterest(form);
    });
    load();
  });
})();
