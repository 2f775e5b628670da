/* 挂图作战 — the leaders' battle-map dashboard. Plain JavaScript drawing SVG; the year's trend
 * charts are Apache ECharts, vendored under /static/vendor/echarts (no CDN).
 *
 * Reads the Guatu HTTP API (/api/v1) with a leader token kept in sessionStorage. Amounts from
 * the API are 万元; large ones are shown in 亿元 (1 亿 = 10,000 万). Refreshes every 30 s.
 */
"use strict";

(() => {
  const API = "/api/v1";
  const REFRESH_MS = 30000;
  const TOKEN_KEY = "guatu.token";
  const LANG_KEY = "guatu.lang";
  const WAN_PER_YI = 10000;
  const DAY = 86400000;
  const LOGIN_RETRY_MS = 10000;

  const TEXT = {
    zh: {
      title: "温江区幸福美好生活十大工程 · 挂图作战",
      asOf: "数据截至", updated: "刷新于", autoRefresh: "每 30 秒自动刷新",
      refresh: "立即刷新", export: "导出 Excel", logout: "退出", close: "关闭",
      loginTitle: "领导登录",
      loginHelp: "请输入领导访问令牌（gt_ 开头，由管理员用 guatu token create --role leader 生成）。令牌只保存在本浏览器标签页中，关闭即清除。",
      token: "访问令牌", login: "登录", loggingIn: "正在登录…", loginRetry: "10 秒后自动重试。",
      badToken: "令牌无效或已吊销，请重新输入。", notLeader: "该令牌不是领导令牌，无法查看挂图。",
      expired: "登录已失效，请重新输入令牌。", noServer: "无法连接服务器，请稍后重试。",
      overview: "总体进展", rankings: "竞进比拼", period: "期间", latest: "最新一期",
      alerts: "督办预警", orders: "督办事项（整改方案期限）",
      ladders: "责任单位问责等级（通报 · 约谈 · 督办）", redProjects: "红灯及逾期项目",
      wall: "挂图 · 项目进度总览", program: "工程", bureau: "责任单位", stage: "阶段", light: "灯",
      all: "全部", project: "项目",
      kTotal: "计划总投资", kPublished: "方案总投资", kOfPublished: "占方案",
      kActual: "实际完成投资", kPlannedToDate: "序时计划", kVsPlanned: "完成序时",
      kYear: "年度目标", kYearActual: "年度完成", kLights: "红黄绿灯", kProjects: "项目",
      kStart: "开工率", kStarted: "已开工", kDueStart: "应开工",
      kFinish: "完工率", kFinished: "已完工", kDueFinish: "应完工",
      colProgram: "工程", colProjects: "项目数", colTotal: "计划总投资（亿元）", colPlanned: "序时计划（亿元）",
      colActual: "实际完成（亿元）", colBar: "投资进度", colVs: "完成序时", colYear: "年度目标 / 完成（亿元）",
      colLights: "绿 / 黄 / 红", colStart: "开工率", colFinish: "完工率", sum: "合计",
      bureauBoard: "责任单位", programBoard: "工程", redList: "红榜", blackList: "黑榜",
      noRanking: "本期排名尚未生成（每月 1 日根据上月数据自动排名）。",
      rankingUnavailable: "排名服务暂不可用。", score: "分", newEntry: "新",
      exempted: "豁免", targetMet: "达到序时目标", targetMissed: "未达序时目标",
      investRatio: "投资完成比", members: "项目数", breakdown: "得分明细",
      computedAt: "计算于", rules: "规则",
      revision: "第 {n} 版（更正）", revisionReason: "更正原因", revisionVs: "与第 {n} 版相比",
      revisionNoChange: "名次与红黑榜无变化", decisionMade: "新作出", decisionWithdrawn: "撤销",
      noOrders: "暂无未销号的督办事项。", noLadders: "暂无责任单位处于问责等级。",
      noRed: "暂无红灯或逾期项目。", due: "期限", overdue: "逾期", daysLeft: "剩余",
      days: "天", blackStreak: "连续黑榜", periods: "期", recentDecisions: "近期问责决定",
      more: "另有", items: "项", shown: "显示",
      legendPlanned: "计划工期", legendPlannedMs: "计划节点", legendOnTime: "按期完成",
      legendLate: "逾期完成", legendMissed: "逾期未完成", legendToday: "今日",
      lightHelpTitle: "灯的含义（点击灯可查看）",
      helpGreen: "绿灯：节点均按期完成，且累计完成投资落后序时进度不足 10 个百分点。",
      helpYellow: "黄灯：有节点过了计划日期仍未完成（30 天宽限期内），或累计完成投资落后序时进度 10–30 个百分点。",
      helpRed: "红灯：节点逾期超过 30 天宽限期仍未完成，或累计完成投资落后序时进度超过 30 个百分点。连续两个月红灯的项目下达督办单。",
      loading: "正在加载…", detailError: "无法读取项目实时状态",
      staleDetail: "以下为最近一次同步到数据库的状态。",
      reasons: "亮灯原因", investment: "投资", total: "总投资", plannedToDate: "序时计划至今",
      actual: "实际完成", physical: "形象进度", milestones: "节点", planned: "计划",
      actualDate: "实际", status: "情况", onTime: "按期", late: "逾期完成", missed: "逾期未完成",
      notDue: "未到期", pending: "待完成", openIssues: "未销号问题", lastReport: "最近月报",
      noIssues: "无", noReport: "尚无月报", kind: "类型", runStatus: "状态",
      businessToday: "业务日期", version: "版本", baselines: "计划调整", reportOnTime: "按时报送",
      reportLate: "逾期报送", month: "月份", monthInvestment: "当月完成",
      cumulative: "累计完成", exportFailed: "导出失败", unavailable: "服务暂时不可用",
      bulletin: "下载通报",
      retryIn: "秒后自动重试", partial: "部分数据未能刷新",
      trends: "年度趋势", trendsHelp: "点击排名走势中的单位，投资与亮灯曲线随之切换",
      chartInvestment: "本年累计完成投资与序时计划", chartRanks: "排名走势",
      chartLights: "各月末红黄绿灯项目数", wholeProgramme: "全区",
      seriesPlan: "序时计划（年度计划 × 时间进度）", seriesActual: "本年累计完成",
      rankAxis: "名次", countAxis: "项目数", noRankTrend: "本年尚无月度排名",
      chartsUnavailable: "图表组件未能加载", monthUnit: "月", ofPlan: "完成序时",
      sampleData: "示例数据：虚构的示例项目和模拟的报送历史，不是真实数据",
      scenes: "示范场景",
      scenesHelp: "场景灯：三分之一以上成员红灯或完成投资低于序时 70% 为红；有成员红黄灯或低于 90% 为黄",
      colScene: "场景", colLead: "牵头单位", colMilestones: "节点按期", colSceneLight: "场景灯",
      noScenes: "尚未设立示范场景。", illustrative: "示例", lightNone: "未亮灯",
    },
    en: {
      title: "Wenjiang Ten Programmes · Battle Map",
      asOf: "As of", updated: "updated", autoRefresh: "auto-refresh every 30 s",
      refresh: "Refresh", export: "Export Excel", logout: "Log out", close: "Close",
      loginTitle: "Leader sign-in",
      loginHelp: "Enter a leader API token (starts with gt_; an administrator creates one with guatu token create --role leader). It is kept in this browser tab only.",
      token: "Token", login: "Sign in", loggingIn: "Signing in…",
      loginRetry: "Retrying in 10 s.",
      badToken: "The token is unknown or revoked.", notLeader: "This is not a leader token.",
      expired: "Your session has expired; enter the token again.",
      noServer: "Cannot reach the server; try again later.",
      overview: "Programme overview", rankings: "Rankings", period: "Period", latest: "Latest",
      alerts: "Supervision", orders: "Supervision orders (correction-plan deadlines)",
      ladders: "Bureaus on the ladder (notice · summons · supervision)",
      redProjects: "Red and overdue projects",
      wall: "Wall chart", program: "Program", bureau: "Bureau", stage: "Stage", light: "Light",
      all: "All", project: "Project",
      kTotal: "Planned investment", kPublished: "Published total", kOfPublished: "of published",
      kActual: "Actual investment", kPlannedToDate: "Planned to date", kVsPlanned: "of plan",
      kYear: "Year target", kYearActual: "Done this year", kLights: "Lights", kProjects: "Projects",
      kStart: "Start rate", kStarted: "started", kDueStart: "due",
      kFinish: "Completion rate", kFinished: "completed", kDueFinish: "due",
      colProgram: "Program", colProjects: "Projects", colTotal: "Planned total (CNY bn)",
      colPlanned: "Planned to date (bn)", colActual: "Actual (bn)", colBar: "Investment",
      colVs: "Of plan", colYear: "Year target / done (bn)", colLights: "G / Y / R",
      colStart: "Start rate", colFinish: "Completion", sum: "Total",
      bureauBoard: "Bureaus", programBoard: "Programs", redList: "Red list",
      blackList: "Black list",
      noRanking: "No ranking for this period yet (rounds run on the 1st of each month).",
      rankingUnavailable: "The ranking service is unavailable.", score: "pts", newEntry: "new",
      exempted: "exempted", targetMet: "met the plan", targetMissed: "missed the plan",
      investRatio: "investment ratio", members: "projects", breakdown: "Score breakdown",
      computedAt: "computed", rules: "rules",
      revision: "Revision {n} (corrected)", revisionReason: "Reason",
      revisionVs: "Changes from revision {n}", revisionNoChange: "No rank or list changes",
      decisionMade: "made", decisionWithdrawn: "withdrawn",
      noOrders: "No open supervision orders.", noLadders: "No bureau is on the ladder.",
      noRed: "No red or overdue projects.", due: "due", overdue: "overdue", daysLeft: "left",
      days: "d", blackStreak: "black lists in a row", periods: "", recentDecisions: "Recent decisions",
      more: "and", items: "more", shown: "showing",
      legendPlanned: "planned span", legendPlannedMs: "planned milestone",
      legendOnTime: "done on time", legendLate: "done late", legendMissed: "overdue",
      legendToday: "today", lightHelpTitle: "What the lights mean (click a light)",
      helpGreen: "Green: milestones on time and investment less than 10 points behind the planned curve.",
      helpYellow: "Yellow: a milestone is past its date (within the 30-day grace), or investment is 10–30 points behind the planned curve.",
      helpRed: "Red: a milestone is overdue beyond the 30-day grace, or investment is more than 30 points behind. Two red months bring a supervision order.",
      loading: "Loading…", detailError: "Cannot read the project's live status",
      staleDetail: "Shown below: the state last written to the database.",
      reasons: "Why this light", investment: "Investment", total: "Total",
      plannedToDate: "Planned to date", actual: "Actual", physical: "Physical progress",
      milestones: "Milestones", planned: "Planned", actualDate: "Actual", status: "Status",
      onTime: "on time", late: "late", missed: "overdue", notDue: "not due", pending: "pending",
      openIssues: "Open issues", lastReport: "Latest report", noIssues: "none",
      noReport: "no report yet", kind: "Kind", runStatus: "Status",
      businessToday: "Business date", version: "Version", baselines: "Plan changes",
      reportOnTime: "on time", reportLate: "late", month: "Month", monthInvestment: "month",
      cumulative: "cumulative", exportFailed: "Export failed", unavailable: "Service unavailable",
      bulletin: "通报 (.docx)",
      retryIn: "s until retry", partial: "Some data could not be refreshed",
      trends: "This year's trends", trendsHelp: "Click a unit in the rank chart to switch the investment and light charts",
      chartInvestment: "Investment this year against the 序时 plan", chartRanks: "Rank movement",
      chartLights: "Lights at each month's end", wholeProgramme: "Whole programme",
      seriesPlan: "Plan to date (year plan × time elapsed)", seriesActual: "Done this year",
      rankAxis: "Rank", countAxis: "Projects", noRankTrend: "No monthly ranking this year yet",
      chartsUnavailable: "The chart library did not load", monthUnit: "", ofPlan: "of plan",
      sampleData: "Sample data: invented projects and a simulated reporting history, not real figures",
      scenes: "Demonstration scenes",
      scenesHelp: "Scene light: red when a third of its projects are red or investment is below 70% of plan to date; yellow when any is red or yellow or below 90%",
      colScene: "Scene", colLead: "Lead bureau", colMilestones: "Milestones on time",
      colSceneLight: "Scene light", noScenes: "No demonstration scenes yet.",
      illustrative: "sample", lightNone: "no light yet",
    },
  };

  const STAGES = {
    approved: ["立项", "approved"], preliminary: ["前期", "preliminary"],
    construction_started: ["开工", "construction started"],
    under_construction: ["在建", "under construction"], completed: ["竣工", "completed"],
    accepted: ["验收", "accepted"], implementing: ["实施", "implementing"],
    done: ["完成", "done"], evaluated: ["评估", "evaluated"], closed: ["关闭", "closed"],
  };
  const LIGHTS = { green: ["绿灯", "green"], yellow: ["黄灯", "yellow"], red: ["红灯", "red"] };
  const RUN = { active: ["在推进", "active"], suspended: ["暂停", "suspended"],
                cancelled: ["已撤销", "cancelled"], closed: ["已关闭", "closed"] };
  const KINDS = { engineering: ["工程类", "engineering"], service: ["服务类", "service"] };
  const LADDER_EN = { notice: "notice", summons: "summons", supervision: "supervision",
                      project_supervision: "project order" };

  const state = {
    lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh",
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    me: null, overview: null, rankings: { bureau: null, program: null }, rankingError: null,
    periods: [], period: "", escalations: null, ladders: null, projects: [], scenes: null,
    bureaus: {}, programs: {}, errors: [],
    filters: { program: "", bureau: "", stage: "", light: "" },
    open: { bureau: null, program: null }, timer: null, loading: false, drawer: null,
    refreshes: 0, updatedAt: null, helpLight: null, collapsed: new Set(), retry: null,
    // The year's trend charts (ECharts): the series as the API serves them, the scope of the
    // investment and light charts (the programme, a program or a bureau), the bump chart's level.
    trends: { investment: null, lights: null, ranks: { bureau: null, program: null } },
    trendScope: { program: "", bureau: "" }, rankLevel: "bureau", charts: {},
  };

  // ------------------------------------------------------------------------------------------
  // Helpers
  // ------------------------------------------------------------------------------------------

  const $ = (sel) => document.querySelector(sel);
  const t = (key) => TEXT[state.lang][key] ?? TEXT.zh[key] ?? key;
  const zh = () => state.lang === "zh";
  const pick = (pair) => (pair ? pair[zh() ? 0 : 1] : "");
  const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function num(x, digits = 2) {
    return Number(x).toLocaleString(zh() ? "zh-CN" : "en-US", { maximumFractionDigits: digits });
  }

  /** An amount in 万元, shown in 亿元 from 1 亿 up (English: CNY millions or billions). */
  function money(wan) {
    if (wan === null || wan === undefined || Number.isNaN(Number(wan))) return "—";
    if (zh()) {
      return Math.abs(wan) >= WAN_PER_YI ? `${(wan / WAN_PER_YI).toFixed(2)} 亿元`
                                          : `${num(wan)} 万元`;
    }
    const yuan = wan * 10000;
    return Math.abs(yuan) >= 1e9 ? `CNY ${(yuan / 1e9).toFixed(2)} bn`
                                 : `CNY ${(yuan / 1e6).toFixed(2)} m`;
  }
  /** An amount in 万元 as a bare number of 亿元 (tables whose header names the unit). */
  const yi = (wan) => (wan === null || wan === undefined ? "—"
    : (zh() ? (wan / WAN_PER_YI).toFixed(2) : ((wan * 10000) / 1e9).toFixed(2)));
  const pct = (x) => (x === null || x === undefined ? "—" : `${Number(x).toFixed(1)}%`);
  const dayOf = (iso) => {
    const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
    return Date.UTC(y, m - 1, d) / DAY;
  };
  const isoOf = (day) => new Date(day * DAY).toISOString().slice(0, 10);
  const todayDay = () => {
    const now = new Date();
    return Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) / DAY;
  };
  const bureauName = (code) => {
    const b = state.bureaus[code];
    return b ? (zh() ? b.name_zh : b.name_en || b.name_zh) : code || "";
  };
  const programName = (code) => {
    const p = state.programs[code];
    return p ? (zh() ? p.name_zh : p.name_en || p.name_zh) : code || "";
  };
  const projectName = (p) => (zh() ? p.name_zh : p.name_en || p.name_zh);
  const explanationText = (e) => (zh() ? e.text_zh : e.text_en || e.text_zh) || e.rule || "";

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      super(body && (body.en || body.code) ? `${status} ${body.code}: ${body.en}` : `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
      this.retryAfter = retryAfter;
    }
    text() {
      if (this.status === 0) return t("noServer");
      return (zh() ? this.body.zh : this.body.en) || this.body.zh || `HTTP ${this.status}`;
    }
  }

  async function request(path) {
    let res;
    try {
      res = await fetch(API + path, {
        headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, {});
    }
    if (!res.ok) {
      let body = {};
      try { body = await res.json(); } catch (err) { body = {}; }
      const error = new ApiError(res.status, body, res.headers.get("Retry-After"));
      if (res.status === 401 && state.me) expire();
      throw error;
    }
    return res;
  }
  const api = async (path) => (await request(path)).json();

  /** A promise's value, or null with the error kept (one section failing keeps the others). */
  async function settle(promise, label) {
    try {
      return { ok: true, value: await promise };
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) state.errors.push({ label, err });
      return { ok: false, error: err };
    }
  }

  // ------------------------------------------------------------------------------------------
  // Session
  // ------------------------------------------------------------------------------------------

  function showLogin(message) {
    $("#app-view").hidden = true;
    $("#login-view").hidden = false;
    for (const id of ["#export", "#logout", "#refresh"]) $(id).hidden = true;
    const error = $("#login-error");
    error.hidden = !message;
    error.textContent = message || "";
    closeDrawer();
    $("#token").focus();
  }

  function expire() {
    stopTimer();
    state.me = null;
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(t("expired"));
  }

  async function login(token) {
    state.token = token;
    let me;
    clearTimeout(state.retry);
    try {
      me = await api("/me");
    } catch (err) {
      if (err.status === 401) {
        state.token = "";
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(t("badToken"));
        return;
      }
      // The server is down or busy: keep the token and try again shortly (a wall display
      // survives a restart of the stack without anyone typing the token again).
      sessionStorage.setItem(TOKEN_KEY, token);
      showLogin(`${err.text()} ${t("loginRetry")}`);
      state.retry = setTimeout(() => { if (!state.me) login(token); }, LOGIN_RETRY_MS);
      return;
    }
    if (me.role !== "leader") {
      state.token = "";
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(t("notLeader"));
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    state.me = me;
    $("#login-view").hidden = true;
    $("#app-view").hidden = false;
    for (const id of ["#export", "#logout", "#refresh"]) $(id).hidden = false;
    $("#token").value = "";
    await refresh();
    startTimer();
  }

  function logout() {
    stopTimer();
    clearTimeout(state.retry);
    state.me = null;
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("");
  }

  function startTimer() {
    stopTimer();
    state.timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  }
  function stopTimer() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  // ------------------------------------------------------------------------------------------
  // Loading
  // ------------------------------------------------------------------------------------------

  async function allProjects() {
    const items = [];
    for (let page = 1; page < 1000; page += 1) {
      const r = await api(`/projects?page=${page}&page_size=200`);
      items.push(...r.items);
      if (items.length >= r.total || r.items.length === 0) break;
    }
    return items;
  }

  async function ranking(level) {
    const params = new URLSearchParams({ level });
    if (state.period) params.set("period", state.period);
    try {
      return await api(`/rankings?${params}`);
    } catch (err) {
      if (err.status === 404) return { found: false, level };
      throw err;
    }
  }

  async function loadRankings() {
    const [bureau, program] = await Promise.all([
      settle(ranking("bureau"), "rankings"), settle(ranking("program"), "rankings")]);
    state.rankingError = bureau.ok ? null : bureau.error;
    state.rankings = { bureau: bureau.ok ? bureau.value : null,
                       program: program.ok ? program.value : null };
  }

  function scopeQuery() {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state.trendScope)) if (v) params.set(k, v);
    return params.toString();
  }

  /** The scoped series (investment and lights); the bump chart's do not depend on the scope. */
  async function loadScoped() {
    const q = scopeQuery();
    const [investment, lights] = await Promise.all([
      settle(api(`/trends/investment?${q}`), "trends"), settle(api(`/trends/lights?${q}`), "trends")]);
    if (investment.ok) state.trends.investment = investment.value;
    if (lights.ok) state.trends.lights = lights.value;
  }

  async function loadTrends() {
    const [bureau, program] = await Promise.all([
      settle(api("/trends/ranks?level=bureau"), "trends"),
      settle(api("/trends/ranks?level=program"), "trends"), loadScoped()]);
    if (bureau.ok) state.trends.ranks.bureau = bureau.value;
    if (program.ok) state.trends.ranks.program = program.value;
  }

  async function refresh() {
    if (state.loading || !state.token) return;
    state.loading = true;
    state.errors = [];
    $("#refresh").disabled = true;
    try {
      const [overview, bureaus, programs, periods, escalations, ladders, projects, scenes] =
        await Promise.all([
          settle(api("/overview"), "overview"), settle(api("/bureaus"), "bureaus"),
          settle(api("/programs"), "programs"),
          settle(api("/rankings/periods?level=bureau"), "periods"),
          settle(api("/escalations"), "escalations"),
          settle(api("/dashboard/ladders"), "ladders"),
          settle(allProjects(), "projects"),
          settle(api("/scenes"), "scenes"),
          loadRankings(), loadTrends(),
        ]);
      if (!state.me) return; // expired while loading
      if (bureaus.ok) state.bureaus = Object.fromEntries(bureaus.value.map((b) => [b.code, b]));
      if (programs.ok) state.programs = Object.fromEntries(programs.value.map((p) => [p.code, p]));
      if (overview.ok) state.overview = overview.value;
      if (periods.ok) state.periods = periods.value;
      state.escalations = escalations.ok ? escalations.value : null;
      state.ladders = ladders.ok ? ladders.value : null;
      if (projects.ok) state.projects = projects.value;
      if (scenes.ok) state.scenes = scenes.value;
      state.updatedAt = new Date();
      renderAll();
      if (state.drawer) openDrawer(state.drawer, true);
      state.refreshes += 1;
      document.body.dataset.refreshes = String(state.refreshes);
    } finally {
      state.loading = false;
      $("#refresh").disabled = false;
      showBanner();
    }
  }

  function showBanner() {
    const banner = $("#banner");
    const first = state.errors[0];
    if (!first) {
      banner.hidden = true;
      return;
    }
    const err = first.err;
    let text = err instanceof ApiError ? err.text() : String(err);
    if (err instanceof ApiError && err.retryAfter) text += `（${err.retryAfter} ${t("retryIn")}）`;
    banner.textContent = `${t("partial")}：${text}`;
    banner.hidden = false;
  }

  // ------------------------------------------------------------------------------------------
  // Rendering: overview
  // ------------------------------------------------------------------------------------------

  function renderAll() {
    applyText();
    renderOverview();
    renderScenes();
    renderTrends();
    renderPeriods();
    renderRankings();
    renderAlerts();
    renderFilters();
    renderLegend();
    renderGantt();
  }

  function applyText() {
    document.documentElement.lang = zh() ? "zh-CN" : "en";
    document.title = zh() ? "挂图作战 · 温江区幸福美好生活十大工程" : "Guatu · Battle map";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("#lang").textContent = zh() ? "English" : "中文";
    $("#lang").lang = zh() ? "en" : "zh-CN";
    $("#as-of").textContent = state.overview ? state.overview.as_of : "—";
    // The sample programme (示例数据) says so on every screen, so nobody takes it for real.
    $("#sample-note").hidden = !(state.overview && state.overview.illustrative_projects > 0);
    $("#updated-at").textContent = state.updatedAt
      ? state.updatedAt.toLocaleTimeString(zh() ? "zh-CN" : "en-GB", { hour12: false }) : "—";
  }

  function kpi(field, label, value, raw, sub, extra = "") {
    return `<div class="kpi" data-kpi="${field}">
      <div class="kpi-label">${esc(label)}</div>
      <div class="kpi-value" data-field="${field}" data-value="${esc(raw)}">${esc(value)}</div>
      <div class="kpi-sub">${sub}</div>${extra}</div>`;
  }

  function meter(part, whole, cls = "") {
    const ratio = whole > 0 ? Math.max(0, Math.min(1, part / whole)) : 0;
    return `<svg class="meter ${cls}" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true">
      <rect class="meter-bg" x="0" y="0" width="100" height="6" rx="3"></rect>
      <rect class="meter-fg" x="0" y="0" width="${(ratio * 100).toFixed(2)}" height="6" rx="3"></rect></svg>`;
  }

  function lightBar(lights, width = 100) {
    const total = (lights.green || 0) + (lights.yellow || 0) + (lights.red || 0);
    if (!total) return `<svg class="lightbar" viewBox="0 0 ${width} 8" aria-hidden="true"><rect class="meter-bg" width="${width}" height="8" rx="4"></rect></svg>`;
    let x = 0;
    const parts = ["green", "yellow", "red"].map((k) => {
      const w = (width * (lights[k] || 0)) / total;
      const r = `<rect class="fill-${k}" x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="8"></rect>`;
      x += w;
      return r;
    });
    return `<svg class="lightbar" viewBox="0 0 ${width} 8" preserveAspectRatio="none" aria-hidden="true">${parts.join("")}</svg>`;
  }

  function renderOverview() {
    const ov = state.overview;
    if (!ov) {
      $("#kpis").innerHTML = `<p class="muted">${esc(t("loading"))}</p>`;
      return;
    }
    const s = ov.total;
    const l = s.lights;
    const lights = `<span class="lights" data-field="lights">
        <span class="dot green"></span><b data-field="light-green">${l.green || 0}</b>
        <span class="dot yellow"></span><b data-field="light-yellow">${l.yellow || 0}</b>
        <span class="dot red"></span><b data-field="light-red">${l.red || 0}</b></span>`;
    $("#kpis").innerHTML = [
      kpi("total-investment", t("kTotal"), money(s.total_investment_wan), s.total_investment_wan,
          `${esc(t("kPublished"))} <b data-field="published-total" data-value="${s.published_total_wan}">${esc(money(s.published_total_wan))}</b> · ${esc(t("kOfPublished"))} ${esc(pct(s.plan_vs_published_pct))}`,
          meter(s.total_investment_wan, s.published_total_wan)),
      kpi("actual-investment", t("kActual"), money(s.actual_investment_wan), s.actual_investment_wan,
          `${esc(t("kPlannedToDate"))} <b data-field="planned-to-date" data-value="${s.planned_investment_to_date_wan}">${esc(money(s.planned_investment_to_date_wan))}</b> · ${esc(t("kVsPlanned"))} <b data-field="actual-vs-planned">${esc(pct(s.actual_vs_planned_pct))}</b>`,
          meter(s.actual_investment_wan, s.planned_investment_to_date_wan)),
      kpi("year-target", `${ov.year} ${t("kYear")}`, money(s.year_target_wan), s.year_target_wan,
          `${esc(t("kYearActual"))} <b data-field="year-actual" data-value="${s.year_actual_wan}">${esc(money(s.year_actual_wan))}</b> · <b data-field="year-progress">${esc(pct(s.year_progress_pct))}</b>`,
          meter(s.year_actual_wan, s.year_target_wan)),
      kpi("projects", t("kProjects"), String(s.projects), s.projects,
          `${esc(t("kLights"))} ${lights}`, lightBar(l)),
      kpi("start-rate", t("kStart"), pct(s.start_rate_pct), s.start_rate_pct ?? "",
          `${esc(t("kStarted"))} ${s.started} / ${esc(t("kDueStart"))} ${s.due_to_start}`,
          meter(s.started, s.due_to_start)),
      kpi("completion-rate", t("kFinish"), pct(s.completion_rate_pct), s.completion_rate_pct ?? "",
          `${esc(t("kFinished"))} ${s.completed} / ${esc(t("kDueFinish"))} ${s.due_to_complete}`,
          meter(s.completed, s.due_to_complete)),
    ].join("");

    const head = `<thead><tr><th>${esc(t("colProgram"))}</th><th class="n">${esc(t("colProjects"))}</th>
      <th class="n">${esc(t("colTotal"))}</th><th class="n">${esc(t("colPlanned"))}</th>
      <th class="n">${esc(t("colActual"))}</th><th>${esc(t("colBar"))}</th>
      <th class="n">${esc(t("colVs"))}</th><th class="n">${esc(t("colYear"))}</th>
      <th>${esc(t("colLights"))}</th><th class="n">${esc(t("colStart"))}</th>
      <th class="n">${esc(t("colFinish"))}</th></tr></thead>`;
    const row = (p, name, cls, code) => `<tr class="${cls}" ${code ? `data-program="${esc(code)}" tabindex="0"` : ""}>
      <td class="name">${esc(name)}</td><td class="n">${p.projects}</td>
      <td class="n">${esc(yi(p.total_investment_wan))}</td>
      <td class="n">${esc(yi(p.planned_investment_to_date_wan))}</td>
      <td class="n">${esc(yi(p.actual_investment_wan))}</td>
      <td>${investBar(p)}</td>
      <td class="n ${p.actual_vs_planned_pct !== null && p.actual_vs_planned_pct < 90 ? "bad" : ""}">${esc(pct(p.actual_vs_planned_pct))}</td>
      <td class="n">${esc(yi(p.year_target_wan))} / ${esc(yi(p.year_actual_wan))}</td>
      <td class="lights-cell"><span class="dot green"></span>${p.lights.green || 0}
        <span class="dot yellow"></span>${p.lights.yellow || 0}
        <span class="dot red"></span>${p.lights.red || 0}</td>
      <td class="n">${esc(pct(p.start_rate_pct))}</td><td class="n">${esc(pct(p.completion_rate_pct))}</td></tr>`;
    const body = ov.programs.map((p) => row(p, `${p.code} ${zh() ? p.name_zh : p.name_en || p.name_zh}`, "", p.code)).join("");
    $("#program-table").innerHTML = `${head}<tbody>${body}</tbody><tfoot>${row(s, t("sum"), "sum", "")}</tfoot>`;
  }

  function renderScenes() {
    const table = $("#scene-table");
    if (!state.scenes) {
      table.innerHTML = "";
      return;
    }
    if (!state.scenes.length) {
      table.innerHTML = `<tbody><tr><td class="muted">${esc(t("noScenes"))}</td></tr></tbody>`;
      return;
    }
    const head = `<thead><tr><th>${esc(t("colScene"))}</th><th>${esc(t("colProgram"))}</th>
      <th>${esc(t("colLead"))}</th><th class="n">${esc(t("colProjects"))}</th>
      <th class="n">${esc(t("colTotal"))}</th><th class="n">${esc(t("colActual"))}</th>
      <th class="n">${esc(t("colVs"))}</th><th class="n">${esc(t("colMilestones"))}</th>
      <th>${esc(t("colLights"))}</th><th>${esc(t("colSceneLight"))}</th></tr></thead>`;
    const rows = state.scenes.map((sc) => {
      const p = sc.progress;
      const name = zh() ? sc.name_zh : sc.name_en || sc.name_zh;
      const tag = sc.illustrative ? ` <span class="muted small">（${esc(t("illustrative"))}）</span>` : "";
      const light = sc.light === "none" ? esc(t("lightNone"))
        : `<span class="dot ${esc(sc.light)}"></span>${esc(pick(LIGHTS[sc.light]))}`;
      const reasons = (zh() ? sc.light_reasons_zh : sc.light_reasons_en).join(zh() ? "；" : "; ");
      return `<tr data-scene="${esc(sc.code)}"><td class="name">${esc(name)}${tag}</td>
        <td>${esc(programName(sc.program))}</td><td>${esc(bureauName(sc.lead_bureau))}</td>
        <td class="n">${sc.projects.length}</td>
        <td class="n">${esc(yi(p.total_investment_wan))}</td>
        <td class="n">${esc(yi(p.actual_investment_wan))}</td>
        <td class="n ${p.investment_ratio < 0.9 ? "bad" : ""}">${esc(pct(100 * p.investment_ratio))}</td>
        <td class="n">${p.milestones_met} / ${p.milestones_due}</td>
        <td class="lights-cell"><span class="dot green"></span>${p.lights.green || 0}
          <span class="dot yellow"></span>${p.lights.yellow || 0}
          <span class="dot red"></span>${p.lights.red || 0}</td>
        <td class="scene-light" data-light="${esc(sc.light)}" title="${esc(reasons)}">${light}
          <div class="muted small">${esc(reasons)}</div></td></tr>`;
    }).join("");
    table.innerHTML = `${head}<tbody>${rows}</tbody>`;
  }

  function investBar(p) {
    const total = p.total_investment_wan || 0;
    const w = (x) => (total > 0 ? Math.max(0, Math.min(160, (160 * x) / total)) : 0).toFixed(1);
    return `<svg class="invest" width="160" height="14" viewBox="0 0 160 14" aria-hidden="true">
      <rect class="ib-total" x="0" y="2" width="160" height="10" rx="2"></rect>
      <rect class="ib-planned" x="0" y="2" width="${w(p.planned_investment_to_date_wan)}" height="10" rx="2"></rect>
      <rect class="ib-actual" x="0" y="5" width="${w(p.actual_investment_wan)}" height="4"></rect></svg>`;
  }

  // ------------------------------------------------------------------------------------------
  // Rendering: the year's trends (ECharts, vendored under /static/vendor/echarts)
  // ------------------------------------------------------------------------------------------

  const CHART_FONT = getComputedStyle(document.documentElement).fontFamily;
  const COLORS = { navy: "#1f4770", plan: "#8a96a3", green: "#2e9d4f", yellow: "#e0a800",
                   red: "#d93025", muted: "#66727f", line: "#dfe4ea" };
  const MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const monthLabel = (key) => {
    const m = Number(String(key).slice(5, 7));
    return zh() ? `${m}月` : MONTHS_EN[m - 1];
  };
  /** An axis label in 万元: 亿 from 1 亿 up (English: CNY bn / m). */
  const axisMoney = (wan) => {
    if (zh()) return Math.abs(wan) >= WAN_PER_YI ? `${num(wan / WAN_PER_YI, 1)}亿` : `${num(wan, 0)}万`;
    const yuan = wan * 10000;
    return Math.abs(yuan) >= 1e9 ? `${num(yuan / 1e9, 1)} bn` : `${num(yuan / 1e6, 0)} m`;
  };

  function chart(key) {
    const el = $(`#chart-${key}`);
    let c = state.charts[key];
    if (c && c.getDom() !== el) { c.dispose(); c = null; }
    if (!c) {
      c = window.echarts.init(el, null, { renderer: "canvas" });
      state.charts[key] = c;
      if (key === "ranks") c.on("click", (p) => { if (p.seriesId) setScope(state.rankLevel, p.seriesId); });
    }
    return c;
  }

  const chartBase = () => ({
    textStyle: { fontFamily: CHART_FONT },
    animationDuration: 400,
    grid: { left: 6, right: 14, top: 40, bottom: 6, containLabel: true },
  });

  function investmentOption(s) {
    const months = s.months.map(monthLabel);
    return {
      ...chartBase(),
      color: [COLORS.plan, COLORS.navy],
      legend: { top: 0, left: 0, itemWidth: 18, textStyle: { fontSize: 11 } },
      tooltip: {
        trigger: "axis", confine: true,
        formatter: (items) => {
          const i = items[0].dataIndex;
          const plan = s.plan_wan[i];
          const actual = s.actual_wan[i];
          const ratio = actual !== null && plan ? ` · ${t("ofPlan")} ${pct((100 * actual) / plan)}` : "";
          return `<b>${esc(s.months[i])}</b><br>${esc(t("seriesPlan"))}：${esc(money(plan))}`
            + `<br>${esc(t("seriesActual"))}：${esc(actual === null ? "—" : money(actual))}${esc(ratio)}`;
        },
      },
      xAxis: { type: "category", data: months, boundaryGap: false,
               axisLabel: { fontSize: 11, hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { fontSize: 11, formatter: axisMoney },
               splitLine: { lineStyle: { color: COLORS.line } } },
      series: [
        { id: "plan", name: t("seriesPlan"), type: "line", data: s.plan_wan, symbol: "none",
          lineStyle: { type: "dashed", width: 2 } },
        { id: "actual", name: t("seriesActual"), type: "line", data: s.actual_wan, symbolSize: 6,
          lineStyle: { width: 3 }, areaStyle: { opacity: 0.08 } },
      ],
    };
  }

  function ranksOption(r) {
    const units = r.units || [];
    const of = units.length;
    const name = (u) => (zh() ? u.name_zh : u.name_en || u.name_zh);
    const chosen = state.trendScope[r.level] || "";
    const step = of > 12 ? 2 : 1;
    if (!r.periods.length) {
      return { ...chartBase(), title: { text: t("noRankTrend"), left: "center", top: "middle",
        textStyle: { fontSize: 13, fontWeight: "normal", color: COLORS.muted } },
        xAxis: { show: false }, yAxis: { show: false }, series: [] };
    }
    return {
      ...chartBase(),
      grid: { left: 6, right: 110, top: 24, bottom: 6, containLabel: true },
      tooltip: {
        trigger: "item", confine: true,
        formatter: (p) => {
          const u = units.find((x) => x.code === p.seriesId);
          if (!u) return "";
          const i = p.dataIndex;
          return `<b>${esc(name(u))}</b><br>${esc(zh() ? r.labels_zh[i] : r.periods[i])}：`
            + `${esc(t("rankAxis"))} ${u.ranks[i] ?? "—"} · ${u.scores[i] === null ? "—" : Number(u.scores[i]).toFixed(2)} ${esc(t("score"))}`;
        },
      },
      xAxis: { type: "category", data: r.periods.map(monthLabel), boundaryGap: [0.08, 0.08],
               axisLabel: { fontSize: 11 } },
      yAxis: { type: "value", inverse: true, min: 1, max: Math.max(of, 1), interval: step,
               name: t("rankAxis"), nameTextStyle: { fontSize: 11 },
               axisLabel: { fontSize: 11, showMaxLabel: (of - 1) % step === 0 },
               splitLine: { lineStyle: { color: COLORS.line } } },
      // The unit whose investment is shown stands out; the others step back.
      series: units.map((u) => ({
        id: u.code, name: name(u), type: "line", data: u.ranks, symbolSize: 7,
        connectNulls: false, emphasis: { focus: "series" },
        lineStyle: { width: u.code === chosen ? 4 : 2, opacity: chosen && u.code !== chosen ? 0.35 : 1 },
        itemStyle: { opacity: chosen && u.code !== chosen ? 0.35 : 1 },
        endLabel: { show: true, fontSize: 11, formatter: () => clip(name(u), 14) },
        labelLayout: { moveOverlap: "shiftY" },
      })),
    };
  }

  function lightsOption(l) {
    return {
      ...chartBase(),
      color: [COLORS.green, COLORS.yellow, COLORS.red],
      legend: { top: 0, left: 0, itemWidth: 14, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
      xAxis: { type: "category", data: l.months.map(monthLabel), axisLabel: { fontSize: 11, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 11 },
               splitLine: { lineStyle: { color: COLORS.line } } },
      series: ["green", "yellow", "red"].map((k) => ({
        id: k, name: pick(LIGHTS[k]), type: "bar", stack: "lights", data: l[k], barMaxWidth: 26,
      })),
    };
  }

  function renderScopeSelect() {
    const select = $("#trend-scope");
    // The programs and bureaus that have projects (and the one shown, whatever it is).
    const has = (key, code) => state.projects.some((p) => p[key] === code) || state.trendScope[key] === code;
    const programs = Object.values(state.programs).filter((p) => has("program", p.code))
      .sort((a, b) => a.number - b.number);
    const bureaus = Object.values(state.bureaus).filter((b) => has("bureau", b.code))
      .sort((a, b) => bureauName(a.code).localeCompare(bureauName(b.code), "zh-CN"));
    select.innerHTML = [`<option value="">${esc(t("wholeProgramme"))}</option>`,
      `<optgroup label="${esc(t("program"))}">${programs.map((p) => `<option value="program:${esc(p.code)}">${esc(`${p.code} ${programName(p.code)}`)}</option>`).join("")}</optgroup>`,
      `<optgroup label="${esc(t("bureau"))}">${bureaus.map((b) => `<option value="bureau:${esc(b.code)}">${esc(bureauName(b.code))}</option>`).join("")}</optgroup>`,
    ].join("");
    const { program, bureau } = state.trendScope;
    select.value = program ? `program:${program}` : bureau ? `bureau:${bureau}` : "";
  }

  function renderTrends() {
    const box = $("#trends");
    for (const b of box.querySelectorAll("[data-rank-level]")) {
      b.setAttribute("aria-pressed", String(b.dataset.rankLevel === state.rankLevel));
    }
    renderScopeSelect();
    if (!window.echarts) {
      for (const el of box.querySelectorAll(".chart")) el.innerHTML = `<p class="muted">${esc(t("chartsUnavailable"))}</p>`;
      return;
    }
    const tr = state.trends;
    const draw = (key, data, option) => {
      const el = $(`#chart-${key}`);
      if (!data) return;
      const c = chart(key);
      c.resize();
      c.setOption(option(data), { notMerge: true });
      el.dataset.ready = "1";
    };
    draw("investment", tr.investment, investmentOption);
    const scope = tr.investment ? tr.investment.scope : null;
    $("#trend-scope-name").textContent = scope ? (zh() ? scope.name_zh : scope.name_en) : "";
    draw("ranks", tr.ranks[state.rankLevel], ranksOption);
    draw("lights", tr.lights, lightsOption);
    for (const key of ["investment", "lights"]) $(`#chart-${key}`).dataset.scope = scopeQuery();
    $("#chart-ranks").dataset.level = state.rankLevel;
  }

  /** Show a program's or a bureau's investment and lights ("" for the whole programme). */
  async function setScope(level, code) {
    state.trendScope = { program: level === "program" ? code : "", bureau: level === "bureau" ? code : "" };
    renderScopeSelect();
    await loadScoped();
    renderTrends();
  }

  function resizeCharts() {
    for (const c of Object.values(state.charts)) c.resize();
  }

  // ------------------------------------------------------------------------------------------
  // Rendering: rankings
  // ------------------------------------------------------------------------------------------

  function renderPeriods() {
    const select = $("#period");
    const options = [`<option value="">${esc(t("latest"))}</option>`].concat(state.periods.map(
      (p) => `<option value="${esc(p.period)}">${esc(zh() ? p.label_zh : p.period)}</option>`));
    select.innerHTML = options.join("");
    select.value = state.period;
  }

  function movement(row) {
    if (row.previous_rank === null || row.previous_rank === undefined || row.movement === null) {
      return `<span class="move new" title="${esc(t("newEntry"))}">${esc(t("newEntry"))}</span>`;
    }
    if (row.movement > 0) return `<span class="move up" title="↑${row.movement}">▲${row.movement}</span>`;
    if (row.movement < 0) return `<span class="move down" title="↓${-row.movement}">▼${-row.movement}</span>`;
    return `<span class="move same">—</span>`;
  }

  function breakdown(row) {
    const lines = (row.breakdown || []).map((line) => `<tr><td>${esc(zh() ? line.text_zh : line.text_en || line.text_zh)}</td>
      <td class="n">${line.points === null || line.points === undefined ? "" : num(line.points)}${line.max_points ? ` / ${num(line.max_points)}` : ""}</td></tr>`).join("");
    return `<div class="breakdown" data-breakdown="${esc(row.code)}">
      <p><b>${esc(t("breakdown"))}</b> · ${esc(t("investRatio"))} ${row.investment_ratio === null ? "—" : num(row.investment_ratio, 3)}
      · ${esc(row.target_met ? t("targetMet") : t("targetMissed"))} · ${esc(t("members"))} ${row.members}</p>
      <table>${lines}</table></div>`;
  }

  function renderBoard(level) {
    const el = $(`#board-${level}`);
    const title = `<h3>${esc(t(level === "bureau" ? "bureauBoard" : "programBoard"))}</h3>`;
    const r = state.rankings[level];
    if (!r) {
      el.innerHTML = `${title}<p class="muted">${esc(state.rankingError ? state.rankingError.text() : t("rankingUnavailable"))}</p>`;
      return;
    }
    if (!r.found) {
      el.innerHTML = `${title}<p class="empty" data-empty="ranking">${esc(t("noRanking"))}</p>`;
      return;
    }
    const names = (list) => list.map((x) => esc(x.name_zh)).join("、") || "—";
    const lists = `<div class="lists"><div class="list-red"><span class="tag red">${esc(t("redList"))}</span> ${names(r.red_list)}</div>
      <div class="list-black"><span class="tag black">${esc(t("blackList"))}</span> ${names(r.black_list)}</div></div>`;
    const rows = r.rows.map((row) => `<li class="rank-row ${row.list ? `on-${row.list}` : ""}" data-level="${level}" data-code="${esc(row.code)}" data-rank="${row.rank}" tabindex="0" role="button" aria-expanded="${state.open[level] === row.code}">
        <span class="rank">${row.rank}</span>
        <span class="rname">${esc(row.name_zh)}</span>
        ${row.exempted ? `<span class="tag exempt">${esc(t("exempted"))}</span>` : ""}
        ${row.list ? `<span class="tag ${row.list}">${esc(t(row.list === "red" ? "redList" : "blackList"))}</span>` : ""}
        ${movement(row)}
        <span class="score" data-score="${row.score}">${Number(row.score).toFixed(2)}</span>
      </li>${state.open[level] === row.code ? breakdown(row) : ""}`).join("");
    el.innerHTML = `${title}${lists}<ol class="ranking" data-level="${level}">${rows}</ol>`;
  }

  function renderRankings() {
    const r = state.rankings.bureau;
    $("#ranking-meta").textContent = r && r.found
      ? `${zh() ? r.label_zh : r.period} · ${zh() ? r.kind_zh : r.kind} · ${t("rules")}：${zh() ? r.ruleset.name_zh : r.ruleset.name_en} v${r.ruleset.version} · ${t("computedAt")} ${String(r.computed_at).slice(0, 16).replace("T", " ")}`
      : "";
    renderRevision(r);
    $("#bulletin").hidden = !(r && r.found);
    renderBoard("bureau");
    renderBoard("program");
  }

  // The latest revision of the period and what it changed from the one before (guatu ranking
  // run --refreeze): ranks, red / black lists and the ladder decisions made or withdrawn.
  function renderRevision(r) {
    const el = $("#ranking-revision");
    const rev = r && r.found ? r.revision : null;
    if (!rev || !rev.number || rev.number <= 1) {
      el.hidden = true;
      el.innerHTML = "";
      return;
    }
    const ch = rev.changes || {};
    const lines = [];
    for (const [level, lv] of Object.entries(ch.levels || {})) {
      if (level === "project") continue;
      for (const row of (lv.rows || []).slice(0, 10)) {
        const b = row.before || {}, a = row.after || {};
        lines.push(`${esc(row.name_zh)}：${b.rank ?? "—"} → ${a.rank ?? "—"}`);
      }
      for (const key of ["red_list", "black_list"]) {
        const pair = lv[key] || {};
        if (JSON.stringify(pair.before) !== JSON.stringify(pair.after)) {
          lines.push(`${esc(t(key === "red_list" ? "redList" : "blackList"))}（${esc(t(level === "bureau" ? "bureauBoard" : "programBoard"))}）：${esc((pair.before || []).join("、") || "—")} → ${esc((pair.after || []).join("、") || "—")}`);
        }
      }
    }
    for (const d of ch.decisions || []) {
      lines.push(`${esc(t(d.change === "withdrawn" ? "decisionWithdrawn" : "decisionMade"))} ${esc(d.bureau_name)}「${esc(zh() ? d.kind_zh : d.kind)}」${d.project ? esc(` ${d.project}`) : ""}`);
    }
    el.hidden = false;
    el.innerHTML = `<strong class="tag revision" data-revision="${rev.number}">${esc(t("revision").replace("{n}", rev.number))}</strong>
      <span>${esc(t("revisionReason"))}：${esc(rev.reason || "—")}</span>
      <div class="muted">${esc(t("revisionVs").replace("{n}", rev.number - 1))}：</div>
      <ul>${(lines.length ? lines : [esc(t("revisionNoChange"))]).map((x) => `<li>${x}</li>`).join("")}</ul>`;
  }

  // ------------------------------------------------------------------------------------------
  // Rendering: alerts
  // ------------------------------------------------------------------------------------------

  function overdueDays(p) {
    const today = dayOf(p.business_today);
    let worst = 0;
    for (const m of p.milestones || []) {
      if (!m.actual && m.planned && dayOf(m.planned) < today) {
        worst = Math.max(worst, today - dayOf(m.planned));
      }
    }
    return worst;
  }

  function renderAlerts() {
    // Supervision orders (督办 / 督办单) with deadlines.
    const orders = state.escalations;
    if (orders === null) {
      $("#orders").innerHTML = `<p class="muted">${esc(t("rankingUnavailable"))}</p>`;
    } else if (!orders.length) {
      $("#orders").innerHTML = `<p class="empty">${esc(t("noOrders"))}</p>`;
    } else {
      const today = todayDay();
      $("#orders").innerHTML = `<table class="orders"><tbody>${orders.map((o) => {
        const left = dayOf(o.due) - today;
        const when = o.overdue_days > 0
          ? `<span class="bad">${esc(t("overdue"))} ${o.overdue_days} ${esc(t("days"))}</span>`
          : `<span>${esc(t("daysLeft"))} ${Math.max(left, 0)} ${esc(t("days"))}</span>`;
        return `<tr data-order="${esc(o.id)}"><td><span class="tag ${o.kind}">${esc(zh() ? o.kind_zh : LADDER_EN[o.kind] || o.kind)}</span></td>
          <td>${esc(zh() ? o.bureau_name : bureauName(o.bureau))}${o.project_name ? ` · ${esc(o.project_name)}` : ""}<div class="muted small">${esc(o.period)} · ${esc(zh() ? o.status_zh : o.status)}</div></td>
          <td class="n">${esc(t("due"))} <b>${esc(o.due)}</b><div class="small">${when}</div></td></tr>`;
      }).join("")}</tbody></table>`;
    }
    // Bureaus on the 通报 / 约谈 / 督办 ladder.
    const ladders = state.ladders;
    if (ladders === null) {
      $("#ladders").innerHTML = `<p class="muted">${esc(t("rankingUnavailable"))}</p>`;
    } else {
      const levels = ladders.levels.length
        ? `<ul class="ladder">${ladders.levels.map((x) => `<li data-ladder="${esc(x.bureau)}"><span class="tag level-${x.level}">${esc(x.level_zh)}</span>
            <b>${esc(zh() ? x.name_zh : x.name_en)}</b> <span class="muted small">${esc(t("blackStreak"))} ${x.black_streak} ${esc(t("periods"))} · ${esc(x.last_period || "")}${x.ruleset_id !== "default" ? ` · ${esc(x.ruleset_id)}` : ""}</span></li>`).join("")}</ul>`
        : `<p class="empty">${esc(t("noLadders"))}</p>`;
      const recent = ladders.decisions.slice(0, 6).map((d) => `<li><span class="tag ${d.kind}">${esc(zh() ? d.kind_zh : LADDER_EN[d.kind] || d.kind)}</span>
          ${esc(d.bureau_name)} <span class="muted small">${esc(d.period)}${d.deadline ? ` · ${esc(t("due"))} ${esc(d.deadline)}` : ""}</span></li>`).join("");
      $("#ladders").innerHTML = levels + (recent ? `<p class="muted small">${esc(t("recentDecisions"))}</p><ul class="ladder recent">${recent}</ul>` : "");
    }
    // Red and overdue projects.
    const flagged = state.projects
      .filter((p) => p.status !== "cancelled" && p.status !== "closed")
      .map((p) => ({ p, days: overdueDays(p) }))
      .filter(({ p, days }) => p.light === "red" || days > 0)
      .sort((a, b) => (a.p.light === "red" ? 0 : 1) - (b.p.light === "red" ? 0 : 1)
        || b.days - a.days || a.p.code.localeCompare(b.p.code));
    $("#red-count").textContent = flagged.length ? `(${flagged.length})` : "";
    if (!flagged.length) {
      $("#red-projects").innerHTML = `<p class="empty">${esc(t("noRed"))}</p>`;
      return;
    }
    const limit = 40;
    const items = flagged.slice(0, limit).map(({ p, days }) => {
      const reason = (p.explanations || []).find((e) => e.light !== "green") || (p.explanations || [])[0];
      return `<li><button type="button" class="link" data-project="${esc(p.code)}">
        <span class="dot ${p.light}"></span><b>${esc(p.code)}</b> ${esc(projectName(p))}</button>
        <span class="muted small">${esc(bureauName(p.bureau))}${days > 0 ? ` · <span class="bad">${esc(t("overdue"))} ${days} ${esc(t("days"))}</span>` : ""}</span>
        ${reason ? `<div class="small reason">${esc(explanationText(reason))}</div>` : ""}</li>`;
    }).join("");
    const more = flagged.length > limit ? `<p class="muted small">${esc(t("more"))} ${flagged.length - limit} ${esc(t("items"))}</p>` : "";
    $("#red-projects").innerHTML = `<ul class="red-list">${items}</ul>${more}`;
  }

  // ------------------------------------------------------------------------------------------
  // Rendering: the wall chart
  // ------------------------------------------------------------------------------------------

  function programOrder(code) {
    const p = state.programs[code];
    return p ? p.number : 999;
  }

  function renderFilters() {
    const present = (key) => [...new Set(state.projects.map((p) => p[key]))];
    const set = (id, entries, current) => {
      const select = $(id);
      select.innerHTML = [`<option value="">${esc(t("all"))}</option>`]
        .concat(entries.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`)).join("");
      select.value = entries.some(([v]) => v === current) ? current : "";
    };
    const programs = [...new Set([...Object.keys(state.programs), ...present("program")])]
      .sort((a, b) => programOrder(a) - programOrder(b) || a.localeCompare(b));
    set("#f-program", programs.map((c) => [c, `${c} ${programName(c)}`]), state.filters.program);
    set("#f-bureau", present("bureau").sort((a, b) => bureauName(a).localeCompare(bureauName(b), "zh-CN"))
      .map((c) => [c, bureauName(c)]), state.filters.bureau);
    const stages = Object.keys(STAGES).filter((s) => present("stage").includes(s));
    set("#f-stage", stages.map((s) => [s, pick(STAGES[s])]), state.filters.stage);
    set("#f-light", Object.keys(LIGHTS).map((l) => [l, pick(LIGHTS[l])]), state.filters.light);
    for (const key of Object.keys(state.filters)) state.filters[key] = $(`#f-${key}`).value;
  }

  function filtered() {
    const f = state.filters;
    return state.projects.filter((p) => (!f.program || p.program === f.program)
      && (!f.bureau || p.bureau === f.bureau) && (!f.stage || p.stage === f.stage)
      && (!f.light || p.light === f.light));
  }

  function renderLegend() {
    const chip = (l) => `<button type="button" class="legend-light ${state.helpLight === l ? "active" : ""}" data-light="${l}" title="${esc(t(`help${l[0].toUpperCase()}${l.slice(1)}`))}">
      <span class="dot ${l}"></span>${esc(pick(LIGHTS[l]))}</button>`;
    $("#legend").innerHTML = `${["green", "yellow", "red"].map(chip).join("")}
      <span class="legend-item"><svg width="26" height="10"><rect class="bar light-green" x="1" y="1" width="24" height="8" rx="2"></rect></svg>${esc(t("legendPlanned"))}</span>
      <span class="legend-item"><svg width="12" height="12"><path class="ms-plan" d="M6 1 L11 6 L6 11 L1 6 Z"></path></svg>${esc(t("legendPlannedMs"))}</span>
      <span class="legend-item"><svg width="12" height="12"><path class="ms-ontime" d="M6 1 L11 6 L6 11 L1 6 Z"></path></svg>${esc(t("legendOnTime"))}</span>
      <span class="legend-item"><svg width="12" height="12"><path class="ms-late" d="M6 1 L11 6 L6 11 L1 6 Z"></path></svg>${esc(t("legendLate"))}</span>
      <span class="legend-item"><svg width="12" height="12"><path class="ms-missed" d="M2 2 L10 10 M10 2 L2 10"></path></svg>${esc(t("legendMissed"))}</span>
      <span class="legend-item"><svg width="12" height="12"><line class="today" x1="6" y1="0" x2="6" y2="12"></line></svg>${esc(t("legendToday"))}</span>`;
    const help = $("#light-help");
    if (state.helpLight) {
      help.hidden = false;
      help.innerHTML = `<b>${esc(t("lightHelpTitle"))}</b><ul>${["green", "yellow", "red"].map((l) => `<li class="${l === state.helpLight ? "current" : ""}"><span class="dot ${l}"></span>${esc(t(`help${l[0].toUpperCase()}${l.slice(1)}`))}</li>`).join("")}</ul>`;
    } else {
      help.hidden = true;
    }
  }

  function ticks(d0, d1, x) {
    const out = [];
    const start = new Date(d0 * DAY);
    const span = d1 - d0;
    const step = span > 1500 ? 12 : span > 700 ? 6 : span > 300 ? 3 : 1;
    let y = start.getUTCFullYear();
    let m = Math.floor(start.getUTCMonth() / step) * step;
    for (;;) {
      const day = Date.UTC(y, m, 1) / DAY;
      if (day > d1) break;
      if (day >= d0) {
        const label = m === 0 ? (zh() ? `${y}年` : String(y))
          : (zh() ? `${m + 1}月` : new Date(day * DAY).toLocaleString("en-GB", { month: "short", timeZone: "UTC" }));
        out.push({ x: x(day), label, major: m === 0 });
      }
      m += step;
      if (m >= 12) { m -= 12; y += 1; }
    }
    // Name the first month at the left edge when the first regular tick is far from it.
    const left = x(d0);
    if (!out.length || out[0].x - left > 70) {
      const s = new Date(d0 * DAY);
      const label = zh() ? `${s.getUTCFullYear()}年${s.getUTCMonth() + 1}月`
        : s.toLocaleString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
      out.unshift({ x: left, label, major: false });
    }
    return out;
  }

  function renderGantt() {
    const svg = $("#gantt");
    const rows = filtered().sort((a, b) => programOrder(a.program) - programOrder(b.program)
      || a.program.localeCompare(b.program) || a.code.localeCompare(b.code));
    $("#wall-count").textContent = `${t("shown")} ${rows.length} / ${state.projects.length}`;
    const width = Math.max(960, $("#gantt-wrap").clientWidth - 2);
    const longest = rows.reduce((n, p) => Math.max(n, p.code.length), 6);
    const CODE = Math.ceil(longest * 6.7) + 8;
    const LABEL = 24 + CODE + 220;
    const ROW = 22;
    const GROUP = 26;
    const AXIS = 40;
    const RIGHT = 14;
    if (!rows.length) {
      svg.setAttribute("width", width);
      svg.setAttribute("height", 60);
      svg.setAttribute("viewBox", `0 0 ${width} 60`);
      svg.innerHTML = `<text class="empty-text" x="${width / 2}" y="34" text-anchor="middle">${esc(state.projects.length ? "—" : t("loading"))}</text>`;
      return;
    }
    let d0 = Infinity;
    let d1 = -Infinity;
    let today = -Infinity;
    for (const p of rows) {
      const dates = [p.start, p.finish, ...(p.milestones || []).flatMap((m) => [m.planned, m.actual])]
        .filter(Boolean).map(dayOf);
      d0 = Math.min(d0, ...dates);
      d1 = Math.max(d1, ...dates);
      today = Math.max(today, dayOf(p.business_today));
    }
    d1 = Math.max(d1, today);
    const first = new Date(d0 * DAY);
    d0 = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1) / DAY;
    const last = new Date(d1 * DAY);
    d1 = Date.UTC(last.getUTCFullYear(), last.getUTCMonth() + 1, 1) / DAY;
    const x = (day) => LABEL + ((day - d0) / Math.max(1, d1 - d0)) * (width - LABEL - RIGHT);

    const groups = [];
    for (const p of rows) {
      if (!groups.length || groups[groups.length - 1].program !== p.program) {
        groups.push({ program: p.program, rows: [] });
      }
      groups[groups.length - 1].rows.push(p);
    }
    const shown = groups.reduce((n, g) => n + (state.collapsed.has(g.program) ? 0 : g.rows.length), 0);
    const height = AXIS + groups.length * GROUP + shown * ROW + 8;
    const parts = [];
    const tk = ticks(d0, d1, x);
    for (const tick of tk) {
      parts.push(`<line class="${tick.major ? "grid major" : "grid"}" x1="${tick.x.toFixed(1)}" y1="${AXIS - 6}" x2="${tick.x.toFixed(1)}" y2="${height}"></line>
        <text class="axis ${tick.major ? "major" : ""}" x="${(tick.x + 3).toFixed(1)}" y="${AXIS - 9}">${esc(tick.label)}</text>`);
    }
    let y = AXIS;
    for (const g of groups) {
      const l = { green: 0, yellow: 0, red: 0 };
      let total = 0;
      for (const p of g.rows) { l[p.light] = (l[p.light] || 0) + 1; total += p.total_investment_wan; }
      const folded = state.collapsed.has(g.program);
      parts.push(`<g class="group" data-group="${esc(g.program)}" role="button" aria-expanded="${!folded}"><rect x="0" y="${y}" width="${width}" height="${GROUP}"></rect>
        <text class="group-title" x="8" y="${y + 17}">${folded ? "▸" : "▾"} ${esc(`${g.program} ${programName(g.program)}`)}</text>
        <text class="group-meta" x="${LABEL - 8}" y="${y + 17}" text-anchor="end">${esc(`${g.rows.length} ${zh() ? "项" : "projects"} · ${money(total)}`)}
          <tspan class="t-green"> ●${l.green}</tspan><tspan class="t-yellow"> ●${l.yellow}</tspan><tspan class="t-red"> ●${l.red}</tspan></text></g>`);
      y += GROUP;
      if (folded) continue;
      for (const p of g.rows) {
        parts.push(ganttRow(p, y, ROW, width, x, today, CODE));
        y += ROW;
      }
    }
    const tx = x(today);
    parts.push(`<line class="today" x1="${tx.toFixed(1)}" y1="${AXIS - 4}" x2="${tx.toFixed(1)}" y2="${height}"></line>
      <text class="today-label" x="${(tx > width - 150 ? tx - 3 : tx + 3).toFixed(1)}" y="12" text-anchor="${tx > width - 150 ? "end" : "start"}">${esc(`${t("legendToday")} ${isoOf(today)}`)}</text>`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.innerHTML = parts.join("");
  }

  function clip(text, max) {
    let out = "";
    let w = 0;
    for (const ch of text) {
      w += ch.charCodeAt(0) > 255 ? 2 : 1;
      if (w > max) return `${out}…`;
      out += ch;
    }
    return out;
  }

  function diamond(cx, cy, r, cls) {
    return `<path class="${cls}" d="M${cx.toFixed(1)} ${cy - r} L${(cx + r).toFixed(1)} ${cy} L${cx.toFixed(1)} ${cy + r} L${(cx - r).toFixed(1)} ${cy} Z"></path>`;
  }

  function ganttRow(p, y, h, width, x, chartToday, codeWidth) {
    const mid = y + h / 2;
    const today = dayOf(p.business_today || isoOf(chartToday));
    const out = [`<g class="row light-${p.light}" data-code="${esc(p.code)}" data-light="${p.light}">
      <rect class="row-bg" x="0" y="${y}" width="${width}" height="${h}"></rect>
      <circle class="dot-${p.light}" cx="12" cy="${mid}" r="5"></circle>
      <text class="code" x="24" y="${mid + 4}">${esc(p.code)}</text>
      <text class="pname" x="${24 + codeWidth}" y="${mid + 4}">${esc(clip(projectName(p), 30))}</text>`];
    if (p.start && p.finish) {
      const x0 = x(dayOf(p.start));
      const x1 = x(dayOf(p.finish));
      out.push(`<rect class="bar light-${p.light}" x="${x0.toFixed(1)}" y="${mid - 4}" width="${Math.max(2, x1 - x0).toFixed(1)}" height="8" rx="2"></rect>`);
      // Investment done against the span: a thin inner line (actual ÷ total).
      if (p.total_investment_wan > 0 && p.actual_investment_wan > 0) {
        const share = Math.min(1, p.actual_investment_wan / p.total_investment_wan);
        out.push(`<rect class="bar-done" x="${x0.toFixed(1)}" y="${mid - 1}" width="${((x1 - x0) * share).toFixed(1)}" height="2"></rect>`);
      }
    }
    for (const m of p.milestones || []) {
      if (!m.planned) continue;
      const px = x(dayOf(m.planned));
      if (m.actual) {
        const ax = x(dayOf(m.actual));
        const late = dayOf(m.actual) > dayOf(m.planned);
        if (Math.abs(ax - px) > 1) out.push(`<line class="slip ${late ? "late" : ""}" x1="${px.toFixed(1)}" y1="${mid}" x2="${ax.toFixed(1)}" y2="${mid}"></line>`);
        out.push(diamond(px, mid, 4, "ms-plan"));
        out.push(diamond(ax, mid, 4.5, late ? "ms-late" : "ms-ontime"));
      } else if (dayOf(m.planned) < today) {
        out.push(`<line class="slip overdue" x1="${px.toFixed(1)}" y1="${mid}" x2="${x(today).toFixed(1)}" y2="${mid}"></line>`);
        out.push(`<path class="ms-missed" d="M${(px - 4).toFixed(1)} ${mid - 4} L${(px + 4).toFixed(1)} ${mid + 4} M${(px + 4).toFixed(1)} ${mid - 4} L${(px - 4).toFixed(1)} ${mid + 4}"></path>`);
      } else {
        out.push(diamond(px, mid, 4, "ms-plan"));
      }
    }
    out.push("</g>");
    return out.join("");
  }

  function tooltipHtml(p) {
    const reasons = (p.explanations || []).map((e) => `<li class="${e.light}">${esc(explanationText(e))}</li>`).join("");
    const today = dayOf(p.business_today);
    const ms = (p.milestones || []).map((m) => {
      let state_ = "";
      if (m.actual) {
        state_ = dayOf(m.actual) > dayOf(m.planned) ? `<span class="bad">${esc(t("late"))} ${esc(m.actual)}</span>` : `${esc(t("onTime"))} ${esc(m.actual)}`;
      } else if (dayOf(m.planned) < today) {
        state_ = `<span class="bad">${esc(t("missed"))} ${today - dayOf(m.planned)} ${esc(t("days"))}</span>`;
      } else {
        state_ = esc(t("notDue"));
      }
      return `<tr><td>${esc(zh() ? m.name_zh : m.step)}</td><td>${esc(m.planned)}</td><td>${state_}</td></tr>`;
    }).join("");
    return `<div class="tt-head"><span class="dot ${p.light}"></span><b>${esc(projectName(p))}</b> <span class="muted">${esc(p.code)}</span></div>
      <div class="small muted">${esc(programName(p.program))} · ${esc(bureauName(p.bureau))} · ${esc(pick(STAGES[p.stage]) || p.stage)} · ${esc(pick(RUN[p.status]) || p.status)}</div>
      <ul class="reasons">${reasons}</ul>
      <div class="small">${esc(t("actual"))} ${esc(money(p.actual_investment_wan))} / ${esc(t("plannedToDate"))} ${esc(money(p.planned_investment_to_date_wan))} / ${esc(t("total"))} ${esc(money(p.total_investment_wan))}</div>
      <table class="tt-ms">${ms}</table>`;
  }

  // ------------------------------------------------------------------------------------------
  // Project detail (live from the workflow)
  // ------------------------------------------------------------------------------------------

  async function openDrawer(code, quiet = false) {
    state.drawer = code;
    const drawer = $("#drawer");
    drawer.hidden = false;
    drawer.dataset.code = code;
    if (!quiet) {
      $("#d-title").textContent = code;
      $("#drawer-body").innerHTML = `<p class="muted">${esc(t("loading"))}</p>`;
      drawer.dataset.loaded = "";
    }
    let s;
    let notice = "";
    try {
      s = await api(`/projects/${encodeURIComponent(code)}`);
    } catch (err) {
      if (state.drawer !== code) return;
      const why = `${t("detailError")}：${err instanceof ApiError ? err.text() : err}`;
      const row = state.projects.find((p) => p.code === code);
      if (!row || (err instanceof ApiError && err.status === 404)) {
        if (!quiet) $("#drawer-body").innerHTML = `<p class="error">${esc(why)}</p>`;
        return;
      }
      if (quiet && drawer.dataset.live === "1") return; // keep the live status shown
      // The workflow did not answer: show the last state projected to the read model.
      s = fromRow(row);
      notice = `<p class="notice" data-field="d-stale">${esc(why)}<br>${esc(t("staleDetail"))}</p>`;
    }
    if (state.drawer !== code) return;
    drawer.dataset.live = notice ? "" : "1";
    $("#d-title").innerHTML = `<span class="dot ${s.light}"></span>${esc(s.name_zh)} <span class="muted">${esc(s.code)}</span>`;
    const today = dayOf(s.business_today);
    const ms = s.milestones.map((m) => {
      let status;
      if (m.actual) status = dayOf(m.actual) > dayOf(m.planned) ? `<span class="bad">${esc(t("late"))}</span>` : esc(t("onTime"));
      else if (dayOf(m.planned) < today) status = `<span class="bad">${esc(t("missed"))} ${today - dayOf(m.planned)} ${esc(t("days"))}</span>`;
      else status = esc(t("notDue"));
      return `<tr><td>${esc(zh() ? m.name_zh : m.step)}</td><td>${esc(m.planned)}</td><td>${esc(m.actual || "—")}</td><td>${status}</td></tr>`;
    }).join("");
    const issues = s.open_issues.length
      ? `<ul>${s.open_issues.map((i) => `<li>${esc(i.title)} <span class="muted small">${esc(i.id)} · ${esc(i.raised_month)}</span></li>`).join("")}</ul>`
      : `<p class="muted">${esc(t("noIssues"))}</p>`;
    const r = s.last_report;
    const report = r
      ? `<p>${esc(r.month)} · ${esc(t("monthInvestment"))} ${esc(money(r.investment_wan))} · ${esc(t("cumulative"))} ${esc(money(r.cumulative_investment_wan))} · ${esc(t("physical"))} ${esc(pct(r.physical_progress_pct))} · ${esc(r.on_time ? t("reportOnTime") : t("reportLate"))}</p>${r.narrative ? `<p class="small">${esc(r.narrative)}</p>` : ""}`
      : s.last_report_month ? `<p>${esc(s.last_report_month)}</p>`
        : `<p class="muted">${esc(t("noReport"))}</p>`;
    $("#drawer-body").innerHTML = `${notice}
      <dl class="facts">
        <dt>${esc(t("program"))}</dt><dd>${esc(s.program)} ${esc(programName(s.program))}</dd>
        <dt>${esc(t("bureau"))}</dt><dd>${esc(bureauName(s.bureau))}</dd>
        <dt>${esc(t("kind"))}</dt><dd>${esc(pick(KINDS[s.kind]) || s.kind)}</dd>
        <dt>${esc(t("stage"))}</dt><dd data-field="d-stage" data-value="${esc(s.stage)}">${esc(pick(STAGES[s.stage]) || s.stage)}</dd>
        <dt>${esc(t("runStatus"))}</dt><dd data-field="d-status" data-value="${esc(s.status)}">${esc(pick(RUN[s.status]) || s.status)}${s.status_reason ? `（${esc(s.status_reason)}）` : ""}</dd>
        <dt>${esc(t("light"))}</dt><dd data-field="d-light" data-value="${esc(s.light)}"><span class="dot ${s.light}"></span>${esc(pick(LIGHTS[s.light]))}</dd>
        <dt>${esc(t("businessToday"))}</dt><dd>${esc(s.business_today)} · ${esc(t("version"))} ${s.version} · ${esc(t("baselines"))} ${s.baselines}</dd>
      </dl>
      <h3>${esc(t("reasons"))}</h3>
      <ul class="reasons">${s.explanations.map((e) => `<li class="${e.light}"><span class="dot ${e.light}"></span>${esc(explanationText(e))}${e.formula ? `<div class="muted small formula">${esc(e.formula)}</div>` : ""}</li>`).join("")}</ul>
      <h3>${esc(t("investment"))}</h3>
      <dl class="facts">
        <dt>${esc(t("total"))}</dt><dd data-field="d-total" data-value="${s.total_investment_wan}">${esc(money(s.total_investment_wan))}</dd>
        <dt>${esc(t("plannedToDate"))}</dt><dd>${esc(money(s.planned_investment_to_date_wan))}（${esc(pct(s.planned_progress_pct))}）</dd>
        <dt>${esc(t("actual"))}</dt><dd data-field="d-actual" data-value="${s.actual_investment_wan}">${esc(money(s.actual_investment_wan))}（${esc(pct(s.actual_progress_pct))}）</dd>
        <dt>${esc(t("physical"))}</dt><dd>${esc(pct(s.physical_progress_pct))}</dd>
      </dl>
      ${meter(s.actual_investment_wan, s.planned_investment_to_date_wan)}
      <h3>${esc(t("milestones"))}</h3>
      <table class="ms"><thead><tr><th>${esc(t("milestones"))}</th><th>${esc(t("planned"))}</th><th>${esc(t("actualDate"))}</th><th>${esc(t("status"))}</th></tr></thead><tbody>${ms}</tbody></table>
      <h3>${esc(t("openIssues"))}</h3>${issues}
      <h3>${esc(t("lastReport"))}</h3>${report}`;
    drawer.dataset.loaded = "1";
  }

  /** A project-list row shaped like the live status (for when the workflow cannot answer). */
  function fromRow(p) {
    const ratio = (x) => (p.total_investment_wan ? Math.round((1000 * x) / p.total_investment_wan) / 10 : 0);
    return {
      ...p, status_reason: "", planned_progress_pct: ratio(p.planned_investment_to_date_wan),
      actual_progress_pct: ratio(p.actual_investment_wan), baselines: 0,
      open_issues: Array.from({ length: p.open_issues || 0 }, (_, i) => ({
        id: `#${i + 1}`, title: "—", raised_month: "" })),
      last_report: null,
    };
  }

  function closeDrawer() {
    state.drawer = null;
    $("#drawer").hidden = true;
  }

  // ------------------------------------------------------------------------------------------
  // Export
  // ------------------------------------------------------------------------------------------

  async function exportView() {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
    if (state.period) params.set("period", state.period);
    await download(`/export.xlsx?${params}`, "guatu.xlsx", $("#export"));
  }

  // The 通报 (Word) of the period on the ranking card, latest revision.
  async function downloadBulletin() {
    const r = state.rankings.bureau;
    if (!r || !r.found) return;
    await download(`/rankings/bulletin?${new URLSearchParams({ period: r.period })}`,
      `通报-${r.period}.docx`, $("#bulletin"));
  }

  /** Save a file the API answers (the token travels in a header, so no plain link). */
  async function download(path, fallback, button) {
    button.disabled = true;
    try {
      const res = await request(path);
      const blob = await res.blob();
      const disposition = res.headers.get("Content-Disposition") || "";
      const match = /filename\*=UTF-8''([^;]+)/.exec(disposition);
      const name = match ? decodeURIComponent(match[1]) : fallback;
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) {
        const banner = $("#banner");
        banner.textContent = `${t("exportFailed")}：${err instanceof ApiError ? err.text() : err}`;
        banner.hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Events
  // ------------------------------------------------------------------------------------------

  function placeTooltip(ev) {
    const tip = $("#tooltip");
    const pad = 14;
    const rect = tip.getBoundingClientRect();
    let left = ev.clientX + pad;
    let top = ev.clientY + pad;
    if (left + rect.width > window.innerWidth - 8) left = ev.clientX - rect.width - pad;
    if (top + rect.height > window.innerHeight - 8) top = Math.max(8, ev.clientY - rect.height - pad);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  function bind() {
    $("#login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const token = $("#token").value.trim();
      if (!token) return;
      const button = $("#login-button");
      button.disabled = true;
      button.textContent = t("loggingIn");
      try { await login(token); } finally {
        button.disabled = false;
        button.textContent = t("login");
      }
    });
    $("#logout").addEventListener("click", logout);
    $("#refresh").addEventListener("click", () => refresh());
    $("#export").addEventListener("click", exportView);
    $("#bulletin").addEventListener("click", downloadBulletin);
    $("#lang").addEventListener("click", () => {
      state.lang = zh() ? "en" : "zh";
      localStorage.setItem(LANG_KEY, state.lang);
      applyText();
      if (state.me) renderAll();
      if (state.drawer) openDrawer(state.drawer);
    });
    $("#period").addEventListener("change", async (ev) => {
      state.period = ev.target.value;
      state.open = { bureau: null, program: null };
      await loadRankings();
      renderRankings();
    });
    for (const key of Object.keys(state.filters)) {
      $(`#f-${key}`).addEventListener("change", (ev) => {
        state.filters[key] = ev.target.value;
        renderGantt();
      });
    }
    const toggleRank = (li) => {
      const level = li.dataset.level;
      state.open[level] = state.open[level] === li.dataset.code ? null : li.dataset.code;
      renderBoard(level);
    };
    $("#rankings").addEventListener("click", (ev) => {
      const li = ev.target.closest(".rank-row");
      if (li) toggleRank(li);
    });
    $("#rankings").addEventListener("keydown", (ev) => {
      const li = ev.target.closest(".rank-row");
      if (li && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggleRank(li); }
    });
    $("#program-table").addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr[data-program]");
      if (!tr) return;
      state.filters.program = state.filters.program === tr.dataset.program ? "" : tr.dataset.program;
      $("#f-program").value = state.filters.program;
      renderGantt();
      $("#wall").scrollIntoView({ behavior: "smooth", block: "start" });
    });
    $("#legend").addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-light]");
      if (!b) return;
      state.helpLight = state.helpLight === b.dataset.light ? null : b.dataset.light;
      renderLegend();
    });
    $("#alerts").addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-project]");
      if (b) openDrawer(b.dataset.project);
    });
    const gantt = $("#gantt");
    gantt.addEventListener("mousemove", (ev) => {
      const row = ev.target.closest("g.row");
      const tip = $("#tooltip");
      if (!row) { tip.hidden = true; return; }
      if (tip.dataset.code !== row.dataset.code) {
        const p = state.projects.find((x) => x.code === row.dataset.code);
        if (!p) return;
        tip.innerHTML = tooltipHtml(p);
        tip.dataset.code = p.code;
      }
      tip.hidden = false;
      placeTooltip(ev);
    });
    gantt.addEventListener("mouseleave", () => { $("#tooltip").hidden = true; $("#tooltip").dataset.code = ""; });
    gantt.addEventListener("click", (ev) => {
      const group = ev.target.closest("g.group");
      if (group) {
        const code = group.dataset.group;
        if (state.collapsed.has(code)) state.collapsed.delete(code); else state.collapsed.add(code);
        renderGantt();
        return;
      }
      const row = ev.target.closest("g.row");
      if (row) {
        $("#tooltip").hidden = true;
        openDrawer(row.dataset.code);
      }
    });
    $("#trend-scope").addEventListener("change", (ev) => {
      const [level, code] = ev.target.value.split(":");
      setScope(level, code || "");
    });
    $("#trends").addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-rank-level]");
      if (!b || b.dataset.rankLevel === state.rankLevel) return;
      state.rankLevel = b.dataset.rankLevel;
      renderTrends();
    });
    $("#drawer-close").addEventListener("click", closeDrawer);
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeDrawer(); });
    let resize = null;
    window.addEventListener("resize", () => {
      clearTimeout(resize);
      resize = setTimeout(() => { if (state.me) { renderGantt(); resizeCharts(); } }, 150);
    });
  }

  function init() {
    bind();
    applyText();
    // `guatu up` prints a link with the leader token in the fragment (never sent to a server):
    // take it, then drop it from the address bar.
    const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromLink) {
      state.token = fromLink;
      history.replaceState(null, "", location.pathname + location.search);
    }
    if (state.token) {
      login(state.token);
    } else {
      showLogin("");
    }
  }

  document.addEventListener("DOMContentLoaded", init);
})();
