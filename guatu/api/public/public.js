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
    },
  };
  const state = { lang: "zh", overview: null, scenes: null };
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

  function render() {
    document.documentElement.lang = zh() ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("#lang").textContent = zh() ? "English" : "中文";
    renderOverview();
    renderScenes();
  }

  async function load() {
    const [ov, sc] = await Promise.allSettled([get("overview"), get("scenes")]);
    if (ov.status === "fulfilled") state.overview = ov.value;
    if (sc.status === "fulfilled") state.scenes = sc.value;
    const failed = [ov, sc].find((x) => x.status === "rejected");
    $("#error").hidden = !failed;
    if (failed) $("#error").textContent = failed.reason.message;
    render();
    document.body.dataset.loaded = "1";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#lang").addEventListener("click", () => {
      state.lang = zh() ? "en" : "zh";
      render();
    });
    load();
  });
})();
