"""The web UI in a real headless browser (Debian's chromium + chromium-driver, Selenium) against a
real stack: model-registry serving the page, llm-gateway running the jobs against provider-stub.

Usage is seeded through real jobs run by the gateway (today's counters, the fallback attempts);
only the three earlier days of history are written as counter rows by SQL, because the gateway
cannot run a job in the past. Screenshots of every page at 1280 and 390 px wide go to
.build/ui-screenshots (not committed).

Without chromium, chromium-driver or Selenium the tests are skipped with a warning, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from stack import REPOSITORY_ROOT, Stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    SELENIUM_ERROR = None
except ImportError as error:  # pragma: no cover - depends on the machine
    SELENIUM_ERROR = error

_missing = [name for name, found in [("chromium", CHROMIUM), ("chromedriver (chromium-driver)", CHROMEDRIVER),
                                     ("selenium", SELENIUM_ERROR is None)] if not found]
if _missing:
    _message = f"browser tests of the web UI need {', '.join(_missing)} (make deps installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {_message}", pytrace=False)
    warnings.warn(f"SKIPPED: {_message}")
    pytest.skip(_message, allow_module_level=True)

SCREENSHOTS = REPOSITORY_ROOT / ".build" / "ui-screenshots"
TOKEN = "ui-test-token"
READ_TOKEN = "ui-read-token"
WAIT = 20
SUFFIX = uuid.uuid4().hex[:6]

# Catalog models of this module (provider-stub answers models named stub-…; error-quota fails at once).
PRIMARY_FAILING = f"stub-ui-{SUFFIX}-error-quota"       # openai: quota exhausted → the fallback answers
FALLBACK_ANSWERING = f"stub-ui-{SUFFIX}-fallback"       # anthropic
WRITER_MODEL = f"stub-ui-{SUFFIX}-writer"               # openai
CONFIG_OPENAI = f"stub-ui-{SUFFIX}-cfg-openai"           # openai, temperature 0–2
CONFIG_ANTHROPIC = f"stub-ui-{SUFFIX}-cfg-anthropic"     # anthropic, temperature 0–1, max output 8192
EXTRA_A = f"stub-ui-{SUFFIX}-extra-a"                    # openai
EXTRA_B = f"stub-ui-{SUFFIX}-extra-b"                    # anthropic
DEPRECATED = f"stub-ui-{SUFFIX}-old"                     # openai, deprecated, successor CONFIG_OPENAI


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ui_stack():
    """Its own stack: these tests import a catalog file and compare whole-database totals."""
    with Stack.start(token=TOKEN, registry_env={"SWITCHBOARD_READ_TOKEN": READ_TOKEN}) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(ui_stack):
    s = ui_stack
    s.add_model(PRIMARY_FAILING, provider="openai", input_per_1k="0.002", output_per_1k="0.008")
    s.add_model(FALLBACK_ANSWERING, provider="anthropic", input_per_1k="0.001", output_per_1k="0.005",
                max_temperature=1, max_output=8192)
    s.add_model(WRITER_MODEL, provider="openai", input_per_1k="0.0004", output_per_1k="0.0016")
    s.add_model(CONFIG_OPENAI, provider="openai", input_per_1k="0.0025", output_per_1k="0.01")
    s.add_model(CONFIG_ANTHROPIC, provider="anthropic", input_per_1k="0.003", output_per_1k="0.015",
                max_temperature=1, max_output=8192)
    s.add_model(EXTRA_A, provider="openai", input_per_1k="0.00015", output_per_1k="0.0006")
    s.add_model(EXTRA_B, provider="anthropic", input_per_1k="0.0008", output_per_1k="0.004", max_temperature=1)
    s.add_model(DEPRECATED, provider="openai", input_per_1k="0.03", output_per_1k="0.06", status="deprecated")
    s.sql("UPDATE llm_models SET successor_model_id = %s, deprecation_date = '2026-01-31' WHERE model_id = %s",
          (CONFIG_OPENAI, DEPRECATED))

    researcher = s.create_agent(f"UI Researcher {SUFFIX}", PRIMARY_FAILING, [FALLBACK_ANSWERING], temperature=0.5)
    writer = s.create_agent(f"UI Writer {SUFFIX}", WRITER_MODEL, temperature=0.7)
    configurable = s.create_agent(f"UI Configurable {SUFFIX}", CONFIG_OPENAI, temperature=1.5)
    legacy = s.create_agent(f"UI Deprecation {SUFFIX}", CONFIG_OPENAI)

    # Real jobs through the gateway: three answered by the fallback, two by the writer's model.
    jobs = []
    for index in range(3):
        jobs.append(enqueue(s, researcher, f"Research question {index}: what changed?"))
    for index in range(2):
        jobs.append(enqueue(s, writer, f"Write release note {index}"))
    finished = [wait_for_job(s, job) for job in jobs]
    assert all(job["status"] == "succeeded" for job in finished), (finished, s.logs())
    execution = s.api("POST", "/api/executions", {"workflow_name": f"ui-workflow-{SUFFIX}", "steps": [
        {"step": "draft", "agent_id": writer, "messages": [{"role": "user", "content": "Draft it"}]},
        {"step": "research", "agent_id": researcher, "messages": [{"role": "user", "content": "Check it"}]},
    ]})
    assert execution.status_code == 201, execution.text
    execution_id = execution.json()["id"]
    for step in execution.json()["steps"]:
        wait_for_job(s, {"id": step["job_id"]})
    wait_until(lambda: s.api("GET", f"/api/executions/{execution_id}").json()["status"] == "succeeded", "execution finished")

    # Earlier days (history the gateway cannot produce today): counter rows as its completion writes them.
    # "Today" is the day the gateway's own counters for the jobs above landed on (the database's
    # clock, in UTC), not this process's date: near midnight the two could differ.
    today = s.sql("SELECT max(day) FROM agent_usage_daily WHERE agent_id = %s", (writer,))[0][0]
    history = []
    for back, requests_, cost in [(3, 4, "0.0120"), (2, 2, "0.0045"), (1, 6, "0.0210")]:
        day = today - timedelta(days=back)
        s.sql("""
            INSERT INTO agent_usage_daily (agent_id, day, provider, model_id, shard, requests, successes, errors,
                                           fallback_requests, input_tokens, output_tokens, priced_requests, cost,
                                           latency_ms_sum, last_used_at)
            VALUES (%s, %s, 'openai', %s, 0, %s, %s, 0, 0, %s, %s, %s, %s::numeric, %s, %s)
            """, (writer, day, WRITER_MODEL, requests_, requests_, 1000 * requests_, 200 * requests_, requests_, cost,
                  100 * requests_, datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)))
        history.append((day.isoformat(), requests_, Decimal(cost)))

    return {
        "researcher": researcher, "writer": writer, "configurable": configurable, "legacy": legacy,
        "jobs": finished, "fallback_job": finished[0], "execution": execution_id, "history": history,
        "today": today.isoformat(),
    }


@pytest.fixture(scope="module")
def browser(ui_stack):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--lang=en-US", "--force-device-scale-factor=1"]:
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, ui_stack, seeded):
    """The browser, signed in with the token (in sessionStorage, as the token prompt stores it)."""
    browser.get(ui_stack.registry_url + "/")
    browser.execute_script("sessionStorage.setItem('switchboard.token', arguments[0])", TOKEN)
    browser.set_window_size(1280, 1000)
    return Page(browser, ui_stack)


# -- helpers ---------------------------------------------------------------------------------------

def enqueue(stack: Stack, agent: str, text: str, **extra) -> dict:
    reply = stack.api("POST", "/api/jobs", {"agent_id": agent, "messages": [{"role": "user", "content": text}], **extra})
    assert reply.status_code == 201, reply.text
    return reply.json()


def wait_for_job(stack: Stack, job: dict) -> dict:
    reply = stack.api("GET", f"/api/jobs/{job['id']}?wait=30", timeout=40)
    assert reply.status_code == 200, reply.text
    return reply.json()


def wait_until(condition, what: str, seconds: float = 30) -> None:
    """Polls `condition`; an element the page re-rendered meanwhile (stale) counts as not yet."""
    import time
    from selenium.common.exceptions import StaleElementReferenceException
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except StaleElementReferenceException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


class Page:
    def __init__(self, driver, stack: Stack):
        self.driver = driver
        self.stack = stack

    def open(self, route: str):
        """A full page load of the route (a hash-only change would keep the old document)."""
        self.driver.get(f"{self.stack.registry_url}/#{route}")
        self.driver.refresh()
        self.wait_loaded(None)
        return self

    def render_id(self):
        return self.driver.execute_script("return document.getElementById('main').dataset.renderId || null")

    def wait_loaded(self, previous="current"):
        """Until a render other than `previous` has finished (app.js sets main's data-render-id)."""
        if previous == "current":
            previous = self.render_id()
        WebDriverWait(self.driver, WAIT).until(lambda d: d.execute_script(
            "const m = document.getElementById('main');"
            "return m.dataset.renderId && m.dataset.renderId !== arguments[0] && !m.hasAttribute('aria-busy');", previous))

    def click_and_wait(self, element):
        """Clicks something that changes the route, and waits for the new page."""
        previous = self.render_id()
        element.click()
        self.wait_loaded(previous)

    def wait(self, css: str, condition=EC.visibility_of_element_located):
        return WebDriverWait(self.driver, WAIT).until(condition((By.CSS_SELECTOR, css)))

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def errors_on_page(self) -> list[str]:
        return [element.text for element in self.find_all(".error-box")]

    def unlabelled_controls(self) -> list[str]:
        """Inputs, selects and buttons a screen reader could not name."""
        return self.driver.execute_script("""
            const bad = [];
            for (const el of document.querySelectorAll('main input, main select, main button, main textarea')) {
              if (el.type === 'hidden' || el.closest('[hidden]')) continue;
              const labelled = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
                || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                || (el.tagName === 'BUTTON' && el.textContent.trim());
              if (!labelled) bad.push(el.outerHTML.slice(0, 120));
            }
            return bad;""")

    def screenshot(self, name: str):
        """The page at 1280 and at 390 px wide (whole height, up to 4000 px); back to 1280 after."""
        for width in (1280, 390):
            self.driver.set_window_size(width, 1000)
            self.driver.execute_script("window.dispatchEvent(new Event('resize'))")
            WebDriverWait(self.driver, 5).until(lambda d: d.execute_script("return document.readyState") == "complete")
            height = min(4000, max(800, self.driver.execute_script("return document.documentElement.scrollHeight")))
            self.driver.set_window_size(width, height)
            self.driver.execute_script("window.dispatchEvent(new Event('resize')); window.scrollTo(0, 0)")
            self.driver.implicitly_wait(0)
            import time
            time.sleep(0.3)  # the chart redraws 100 ms after a resize
            self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
            # Nothing may be wider than the window (tables scroll inside their own box).
            overflow = self.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} at {width}px: the page is {overflow}px wider than the window"
        self.driver.set_window_size(1280, 1000)


def decimal_text(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


# -- the token prompt -------------------------------------------------------------------------------

def test_token_prompt_appears_when_the_server_has_a_token(browser, ui_stack, seeded):
    browser.get(ui_stack.registry_url + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(ui_stack.registry_url + "/#/agents")
    browser.refresh()
    ui = Page(browser, ui_stack)
    prompt = ui.wait("#token-panel")
    assert "requires an API token" in prompt.text
    assert not ui.find("#main").is_displayed()
    assert browser.switch_to.active_element == ui.find("#token-input"), "the token field has the focus"
    ui.screenshot("token-prompt")

    # A wrong token: the API answers 401 and the prompt comes back saying so.
    ui.find("#token-input").send_keys("wrong-token", Keys.ENTER)
    WebDriverWait(browser, WAIT).until(lambda d: "not accepted" in d.find_element(By.ID, "token-reason").text)
    assert browser.execute_script("return sessionStorage.getItem('switchboard.token')") is None

    ui.find("#token-input").send_keys(TOKEN, Keys.ENTER)
    ui.wait("#agents-table")
    assert not ui.find("#token-panel").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('switchboard.token')") == TOKEN
    assert ui.find("#forget-token").is_displayed()


# -- agents and the Model tab ---------------------------------------------------------------------

def test_agents_list_shows_model_provider_requests_and_cost(page, seeded):
    page.open("/agents")
    row = page.wait(f"tr[data-agent-id='{seeded['researcher']}']")
    assert PRIMARY_FAILING in row.text
    assert row.find_element(By.CSS_SELECTOR, ".badge-provider").text == "openai"
    usage = page.stack.api("GET", f"/api/agents/{seeded['researcher']}/model-usage").json()["usage_stats"]
    requests_cell = row.find_element(By.CSS_SELECTOR, "td[data-requests]")
    cost_cell = row.find_element(By.CSS_SELECTOR, "td[data-cost]")
    assert int(requests_cell.get_attribute("data-requests")) == usage["total_requests"] == 8  # 4 jobs × (error + fallback)
    assert decimal_text(cost_cell.get_attribute("data-cost")) == decimal_text(usage["total_cost"])
    assert cost_cell.text.startswith("$")
    assert page.unlabelled_controls() == []
    page.screenshot("agents")


def test_configure_an_agent_and_save_with_another_providers_model(page, seeded):
    agent = seeded["configurable"]
    # A setting the form does not show (set through the API) must survive a save in the form.
    before = page.stack.api("GET", f"/api/agents/{agent}/model-config").json()["model_config"]
    assert page.stack.api("PUT", f"/api/agents/{agent}/model-config",
                          {**before, "stream_stall_seconds": 45}).status_code == 200
    page.open("/agents")
    page.click_and_wait(page.wait(f"tr[data-agent-id='{agent}'] a.button"))
    model_select = Select(page.wait("#model-select"))
    assert model_select.first_selected_option.get_attribute("value") == CONFIG_OPENAI
    # Grouped by provider.
    groups = [group.get_attribute("label") for group in page.find_all("#model-select optgroup")]
    assert "openai" in groups and "anthropic" in groups
    assert float(page.find("#temperature").get_attribute("value")) == 1.5

    # Another provider's model: its limits apply at once (1.5 no longer fits; max is 1).
    model_select.select_by_value(CONFIG_ANTHROPIC)
    page.wait(".model-details")
    WebDriverWait(page.driver, WAIT).until(lambda d: page.find("#temperature").get_attribute("max") == "1")
    slider = page.find("input[type=range][name=temperature-range]")
    assert slider.get_attribute("max") == "1"
    assert float(page.find("#temperature").get_attribute("value")) == 1.0

    # A temperature beyond the model's limit: the control does not take it.
    number = page.find("#temperature")
    number.send_keys(Keys.CONTROL, "a")  # select what is there, then type over it, as a person would
    number.send_keys("1.7", Keys.TAB)
    WebDriverWait(page.driver, WAIT).until(lambda d: number.get_attribute("value") == "1")
    assert "outside 0 – 1" in page.find("[data-field-messages='temperature']").text
    slider.send_keys(Keys.END)
    assert float(slider.get_attribute("value")) <= 1.0
    slider.send_keys(Keys.HOME)
    for _ in range(30):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert float(slider.get_attribute("value")) == 0.3
    assert number.get_attribute("value") == "0.3"

    # max tokens bounded by the model's max output; penalties disabled with the reason for Anthropic.
    max_tokens = page.find("#max-tokens")
    max_tokens.send_keys(Keys.CONTROL, "a")
    max_tokens.send_keys("99999", Keys.TAB)
    WebDriverWait(page.driver, WAIT).until(lambda d: max_tokens.get_attribute("value") == "8192")
    assert not page.find("#frequency-penalty").is_enabled()
    assert not page.find("#presence-penalty").is_enabled()
    assert "no frequency or presence penalty" in page.find("#penalty-reason").text

    # The details card: context, prices per 1K and 1M, badges.
    card = page.find(".model-details").text
    assert "$0.003 / 1K" in card and "$3.00 / 1M" in card and "8,192 tokens" in card

    # Fallbacks: add two, reorder, remove one.
    candidates = Select(page.find("#fallback-candidate"))
    candidates.select_by_value(EXTRA_A)
    page.find(".add-fallback button").click()
    candidates = Select(page.find("#fallback-candidate"))
    candidates.select_by_value(EXTRA_B)
    page.find(".add-fallback button").click()
    order = lambda: [item.get_attribute("data-model-id") for item in page.find_all(".fallback-item")]  # noqa: E731
    assert order() == [EXTRA_A, EXTRA_B]
    page.driver.find_element(By.CSS_SELECTOR, f"button[aria-label^='Move {EXTRA_B} up']").click()
    assert order() == [EXTRA_B, EXTRA_A]
    # Keyboard: the focus stays on the moved item's buttons; Enter on "Remove" of the second one.
    remove = page.driver.find_element(By.CSS_SELECTOR, f"button[aria-label='Remove {EXTRA_A}']")
    remove.send_keys(Keys.ENTER)
    assert order() == [EXTRA_B]

    # The estimate comes from the API: 1,000 input + 500 output tokens on the selected model.
    expected = page.stack.api("POST", "/api/models/estimate-cost",
                              {"model_id": CONFIG_ANTHROPIC, "input_tokens": 1000, "output_tokens": 500}).json()
    estimate = page.wait(".estimate-total")
    WebDriverWait(page.driver, WAIT).until(lambda d: CONFIG_ANTHROPIC in page.find(".estimate").text)
    assert decimal_text(page.find(".estimate-total").get_attribute("data-total-cost")) == decimal_text(expected["total_cost"])
    assert estimate.text.startswith("$0.0105")
    assert page.unlabelled_controls() == []
    page.screenshot("agent-model-tab")

    page.find(".model-form button.primary[type=submit]").click()
    WebDriverWait(page.driver, WAIT).until(lambda d: "Saved" in page.find(".form-status").text)

    # Persisted: through the API, and after a reload in the page.
    stored = page.stack.api("GET", f"/api/agents/{agent}/model-config").json()["model_config"]
    assert stored["model_id"] == CONFIG_ANTHROPIC
    assert stored["provider"] == "anthropic"
    assert stored["temperature"] == 0.3
    assert stored["max_tokens"] == 8192
    assert stored["fallback_model_ids"] == [EXTRA_B]
    assert stored["frequency_penalty"] is None and stored["presence_penalty"] is None
    assert stored["stream_stall_seconds"] == 45
    page.driver.refresh()
    page.wait_loaded(None)
    assert Select(page.wait("#model-select")).first_selected_option.get_attribute("value") == CONFIG_ANTHROPIC
    assert page.find("#temperature").get_attribute("value") == "0.3"
    assert page.find("#max-tokens").get_attribute("value") == "8192"
    assert order() == [EXTRA_B]

    # The Changes tab shows this save from the audit trail.
    page.open(f"/agents/{agent}/changes")
    table = page.wait("#changes-table")
    assert f"model_config.model_id" in table.text and CONFIG_ANTHROPIC in table.text
    assert "admin_token" in table.text
    page.screenshot("agent-changes")


def test_a_deprecated_model_shows_its_warning(page, seeded):
    agent = seeded["legacy"]
    page.open(f"/agents/{agent}/model")
    model_select = Select(page.wait("#model-select"))
    option = page.find(f"#model-select option[value='{DEPRECATED}']")
    assert "[deprecated]" in option.text
    model_select.select_by_value(DEPRECATED)
    warning = page.wait(".deprecation-warning")
    assert "deprecated" in warning.text and CONFIG_OPENAI in warning.text, warning.text
    page.find(".model-form button.primary[type=submit]").click()
    WebDriverWait(page.driver, WAIT).until(lambda d: "Saved" in page.find(".form-status").text)
    # The API's warning, next to the model field.
    message = page.wait("[data-field-messages='model_id'] .message.warning")
    assert "deprecated" in message.text.lower() and CONFIG_OPENAI in message.text
    page.screenshot("agent-deprecated")


def test_the_apis_validation_errors_appear_next_to_their_fields(page, seeded, ui_stack):
    """A change made elsewhere after the page loaded (the fallback retired): the API's 400 names the field."""
    agent = seeded["legacy"]
    victim = f"stub-ui-{SUFFIX}-retire-me"
    ui_stack.add_model(victim, provider="openai")
    page.open(f"/agents/{agent}/model")
    Select(page.wait("#model-select")).select_by_value(CONFIG_OPENAI)
    Select(page.find("#fallback-candidate")).select_by_value(victim)
    page.find(".add-fallback button").click()
    assert ui_stack.api("POST", f"/api/models/{victim}/retire", {}).status_code == 200
    page.find(".model-form button.primary[type=submit]").click()
    message = page.wait("[data-field-messages='fallback_model_ids[0]'] .message.error")
    assert "retired" in message.text, message.text
    assert "Not saved" in page.find(".form-status").text


# -- models -----------------------------------------------------------------------------------------

def test_models_table_filters_sorts_and_compares_prices(page, seeded):
    page.open(f"/models?q=stub-ui-{SUFFIX}&sort=input&dir=asc")
    table = page.wait("#models-table")
    ids = [row.get_attribute("data-model-id") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert ids[0] == EXTRA_A, ids  # cheapest input price first
    assert DEPRECATED in ids and ids[-1] == DEPRECATED
    page.find("#filter-provider option[value='anthropic']").click()
    page.click_and_wait(page.find("form.filters button[type=submit]"))
    rows = page.find_all("#models-table tbody tr")
    assert rows and all(row.find_element(By.CSS_SELECTOR, ".badge-provider").text == "anthropic" for row in rows)
    assert page.unlabelled_controls() == []
    page.screenshot("models")

    page.open(f"/models?q=stub-ui-{SUFFIX}")
    compare = page.wait("#compare-button")
    assert not compare.is_enabled()
    for model in (CONFIG_OPENAI, CONFIG_ANTHROPIC, EXTRA_A):
        page.find(f"input[name=compare][value='{model}']").click()
    assert compare.is_enabled() and "(3)" in compare.text
    page.click_and_wait(compare)
    table = page.wait("#compare-table")
    for model in (CONFIG_OPENAI, CONFIG_ANTHROPIC, EXTRA_A):
        api_model = page.stack.api("GET", f"/api/models/{model}").json()
        input_cell = table.find_element(By.CSS_SELECTOR, f"tr[data-row='input-1k'] td[data-model-id='{model}']")
        output_cell = table.find_element(By.CSS_SELECTOR, f"tr[data-row='output-1m'] td[data-model-id='{model}']")
        assert Decimal(input_cell.text.lstrip("$")) == Decimal(str(api_model["input_cost_per_1k"]))
        assert Decimal(output_cell.text.lstrip("$").replace(",", "")) == Decimal(str(api_model["output_cost_per_1k"])) * 1000
    cheapest = table.find_element(By.CSS_SELECTOR, f"th[data-model-id='{EXTRA_A}']")
    assert "cheapest" in cheapest.text
    page.screenshot("models-compare")


def test_catalog_upload_shows_the_import_report(page, seeded, tmp_path):
    catalog = tmp_path / "litellm.json"
    new_model = f"gpt-ui-import-{SUFFIX}"
    catalog.write_text(json.dumps({
        new_model: {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06,
                    "output_cost_per_token": 2e-06, "max_input_tokens": 64000, "max_output_tokens": 4096},
        f"text-embedding-ui-{SUFFIX}": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 1e-07},
    }))
    page.open("/models")
    page.find("#import-file").send_keys(str(catalog))
    page.find("form.import button[type=submit]").click()
    report = page.wait("#import-result")
    assert page.find("#import-result [data-count='inserted']").text == "1"
    assert page.find("#import-result [data-count='skipped']").text == "1"
    assert new_model in report.text
    stored = page.stack.api("GET", f"/api/models/{new_model}").json()
    assert Decimal(str(stored["input_cost_per_1k"])) == Decimal("0.001")


# -- usage ---------------------------------------------------------------------------------------------

def test_usage_chart_is_drawn_from_the_usage_and_its_totals_equal_the_apis(page, seeded):
    today = seeded["today"]
    first = seeded["history"][0][0]
    page.open(f"/usage?from={first}&to={today}")
    chart = page.wait("#usage-chart svg")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert [bar.get_attribute("data-day") for bar in bars] == [day for day, _, _ in seeded["history"]] + [today]
    api = page.stack.api("GET", f"/api/usage?from={first}&to={today}").json()
    by_day = {day["day"]: day for day in api["days"]}
    for bar in bars:
        day = by_day[bar.get_attribute("data-day")]
        assert decimal_text(bar.get_attribute("data-cost")) == decimal_text(day["cost"])
        assert int(bar.get_attribute("data-tokens")) == day["total_tokens"]
        assert float(bar.get_attribute("height")) > 0
    heights = [float(bar.get_attribute("height")) for bar in bars]
    costs = [decimal_text(bar.get_attribute("data-cost")) for bar in bars]
    assert heights.index(max(heights)) == costs.index(max(costs)), "the tallest bar is the costliest day"
    assert chart.find_element(By.CSS_SELECTOR, "path.tokens-line").get_attribute("d").startswith("M")

    # Totals on the page = the API's, and the API's = what the jobs cost plus the seeded history.
    totals = api["totals"]
    shown_cost = decimal_text(page.find("[data-total='cost']").get_attribute("data-value"))
    assert shown_cost == decimal_text(totals["cost"])
    assert int(page.find("[data-total='requests']").get_attribute("data-value")) == totals["requests"]
    assert int(page.find("[data-total='tokens']").get_attribute("data-value")) == totals["total_tokens"]
    assert page.find("[data-total='cost'] dd").text.startswith("$")
    job_cost = Decimal(0)
    job_requests = 0
    for job in page.stack.api("GET", "/api/jobs?limit=200").json()["jobs"]:
        for attempt in page.stack.api("GET", f"/api/jobs/{job['id']}").json()["attempts"]:
            job_requests += 1
            job_cost += Decimal(str(attempt["cost"])) if attempt["cost"] is not None else 0
    history_cost = sum((cost for _, _, cost in seeded["history"]), Decimal(0))
    history_requests = sum(requests_ for _, requests_, _ in seeded["history"])
    assert Decimal(str(totals["cost"])) == job_cost + history_cost
    assert totals["requests"] == job_requests + history_requests
    # Error and fallback rates: the researcher's primary fails on every job.
    assert totals["errors"] > 0 and totals["fallback_requests"] > 0
    assert page.find("[data-total='fallback-rate'] dd").text.endswith("%")

    agents = {row.get_attribute("data-agent-id"): row for row in page.find_all("#usage-agents tbody tr")}
    assert seeded["researcher"] in agents and seeded["writer"] in agents
    researcher = next(entry for entry in api["agents"] if entry["agent_id"] == seeded["researcher"])
    assert decimal_text(agents[seeded["researcher"]].find_element(By.CSS_SELECTOR, "td[data-cost]").get_attribute("data-cost")) \
        == decimal_text(researcher["cost"])
    models = [row.get_attribute("data-model-id") for row in page.find_all("#usage-models tbody tr")]
    assert PRIMARY_FAILING in models and FALLBACK_ANSWERING in models
    assert page.unlabelled_controls() == []
    page.screenshot("usage")


# -- jobs and executions -------------------------------------------------------------------------------

def test_a_jobs_attempts_show_the_fallback_that_answered(page, seeded):
    job = seeded["fallback_job"]
    page.open(f"/jobs?agent_id={seeded['researcher']}")
    rows = page.wait("#jobs-table tbody tr")
    assert "fallback 1" in page.find("#jobs-table").text
    assert page.unlabelled_controls() == []
    page.screenshot("jobs")
    page.open(f"/jobs/{job['id']}")
    attempts = page.wait("#attempts-table")
    rows = attempts.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [(row.get_attribute("data-model"), row.get_attribute("data-outcome"), row.get_attribute("data-fallback-depth"))
            for row in rows] == [(PRIMARY_FAILING, "error", "0"), (FALLBACK_ANSWERING, "success", "1")]
    assert "quota_exhausted" in rows[0].text
    assert "fallback 1" in rows[1].text and "anthropic" in rows[1].text
    result = page.find("#job-result").text
    assert FALLBACK_ANSWERING in result and "fallback 1" in result
    assert "Stub reply to" in result
    assert not page.find_all("#cancel-job"), "a finished job cannot be cancelled"
    page.screenshot("job")


def test_a_queued_job_can_be_cancelled(page, seeded):
    # An hour from the database's clock (the one the queue compares run_at with), not this process's.
    [(later,)] = page.stack.sql("SELECT to_char((now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    job = enqueue(page.stack, seeded["writer"], "not yet", run_at=later)
    page.open(f"/jobs/{job['id']}")
    page.wait("#cancel-job").click()
    WebDriverWait(page.driver, WAIT).until(lambda d: page.stack.api("GET", f"/api/jobs/{job['id']}").json()["status"] == "cancelled")
    WebDriverWait(page.driver, WAIT).until(lambda d: "cancelled" in page.find("#main h1").text)


def test_an_execution_shows_steps_models_used_and_total_cost(page, seeded):
    page.open("/executions")
    page.wait(f"tr[data-execution-id='{seeded['execution']}']")
    page.open(f"/executions/{seeded['execution']}")
    execution = page.stack.api("GET", f"/api/executions/{seeded['execution']}").json()
    steps = page.wait("#steps-table").text
    assert "draft" in steps and "research" in steps and FALLBACK_ANSWERING in steps
    used = page.find("#models-used-table").text
    assert WRITER_MODEL in used and PRIMARY_FAILING in used and FALLBACK_ANSWERING in used
    assert decimal_text(page.find("#execution-totals [data-total='cost']").get_attribute("data-value")) \
        == decimal_text(execution["total_cost"])
    page.screenshot("execution")


def test_changes_page_lists_the_audit_trail(page, seeded):
    page.open(f"/changes?entity=agent&entity_id={seeded['researcher']}")
    table = page.wait("#changes-table")
    assert "create" in table.text or "update" in table.text
    assert PRIMARY_FAILING in table.text
    assert page.unlabelled_controls() == []
    page.screenshot("changes")


def test_the_page_is_usable_with_the_keyboard(page, seeded):
    """Skip link, then the navigation reached and followed with Tab and Enter."""
    page.open("/agents")
    page.wait("#agents-table")
    body = page.find("body")
    body.send_keys(Keys.TAB)
    assert page.driver.switch_to.active_element.text == "Skip to content"
    active = page.driver.switch_to.active_element
    for _ in range(3):
        active.send_keys(Keys.TAB)
        active = page.driver.switch_to.active_element
    assert active.text == "Models", active.text
    previous = page.render_id()
    active.send_keys(Keys.ENTER)
    page.wait_loaded(previous)
    page.wait("#models-table")
    assert "#/models" in page.driver.current_url


def test_a_read_only_token_can_look_but_saving_says_it_may_not(page, seeded):
    page.driver.execute_script("sessionStorage.setItem('switchboard.token', arguments[0])", READ_TOKEN)
    page.open(f"/agents/{seeded['writer']}/model")
    page.wait("#model-select")
    page.find(".model-form button.primary[type=submit]").click()
    WebDriverWait(page.driver, WAIT).until(lambda d: "may only read" in page.find(".form-status").text)
    stored = page.stack.api("GET", f"/api/agents/{seeded['writer']}/model-config").json()["model_config"]
    assert stored["model_id"] == WRITER_MODEL


def test_a_tenants_key_sees_only_its_tenant_and_makes_keys_shown_once(page, seeded):
    s = page.stack
    tenant = s.api("POST", "/api/tenants", {"name": f"ui-team-{SUFFIX}"}).json()
    operator = s.api("POST", "/api/keys", {"tenant_id": tenant["id"], "role": "operator"}).json()["key"]
    team_agent = f"UI Team Agent {SUFFIX}"
    assert s.api("POST", "/api/agents", {"name": team_agent, "agent_type": "t", "tenant_id": tenant["id"]}).status_code == 201
    page.driver.execute_script("sessionStorage.setItem('switchboard.token', arguments[0])", operator)
    # The agents page shows the tenant's agent and none of the default tenant's.
    page.open("/agents")
    text = page.find("main").text
    assert team_agent in text and f"UI Writer {SUFFIX}" not in text and f"UI Researcher {SUFFIX}" not in text
    # Nor another tenant's job by its id.
    page.open(f"/jobs/{seeded['jobs'][0]['id']}")
    assert any("does not exist" in error for error in page.errors_on_page()), page.find("main").text
    # A viewer key made on the keys page is shown once and listed by its prefix only.
    page.open("/keys")
    form = page.wait("#key-form")
    Select(page.find("#key-role")).select_by_value("viewer")
    page.find("#key-name").send_keys("dashboards")
    form.find_element(By.CSS_SELECTOR, "button.primary").click()
    key = page.wait("#new-key").text
    assert key.startswith("sb_") and len(key) == 46
    wait_until(lambda: "dashboards" in page.find("#keys-table").text, "the new key in the list")
    assert key not in page.find("#keys-table").text and key[:11] in page.find("#keys-table").text
    assert s.api("GET", "/api/agents", token=key).json()["agents"][0]["name"] == team_agent
    assert page.unlabelled_controls() == []
    page.screenshot("keys")
    # Creating an operator key is refused with the API's reason.
    Select(page.find("#key-role")).select_by_value("operator")
    page.find("#key-form button.primary").click()
    wait_until(lambda: any("lower role" in error for error in page.errors_on_page()), "the refusal shown")


def test_a_budget_made_on_the_budgets_page_shows_its_spend_as_a_bar(page, seeded):
    s = page.stack
    page.open("/budgets")
    form = page.wait("#budget-form")
    Select(page.find("#budget-scope")).select_by_value("agent")
    agent = seeded["legacy"]
    Select(page.find("#budget-target")).select_by_value(agent)
    page.find("#budget-name").send_keys(f"ui budget {SUFFIX}")
    page.find("#budget-limit").send_keys("8")
    Select(page.find("#budget-behaviour")).select_by_value("defer")
    form.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_until(lambda: f"ui budget {SUFFIX}" in page.find("#budgets-table").text, "the new budget in the table")
    [budget] = [b for b in s.api("GET", "/api/budgets").json()["budgets"] if b["name"] == f"ui budget {SUFFIX}"]
    assert budget["scope_id"] == agent and budget["limit_usd"] == "8" and budget["on_exhausted"] == "defer"
    # Spend as the worker leaves it: 2 spent and 2 reserved of 8 → a quarter solid, a quarter hatched.
    s.sql("""
        INSERT INTO budget_periods (budget_id, period_start, period_end, spent_usd, reserved_usd)
        SELECT %s, period_start, period_end, 2, 2 FROM budget_period_bounds('month', 'UTC', now())
        """, (budget["id"],))
    page.open("/budgets")
    wait_until(lambda: "$2 spent · $2 reserved · $4 left of $8" in page.find("#budgets-table").text, "the spend shown")
    row = page.find(f"tr[data-budget-id='{budget['id']}']")
    spent = row.find_element(By.CSS_SELECTOR, ".budget-spent").get_attribute("style")
    reserved = row.find_element(By.CSS_SELECTOR, ".budget-reserved").get_attribute("style")
    assert spent == "width: 25%;" and reserved == "width: 25%;", (spent, reserved)
    assert page.unlabelled_controls() == []
    page.screenshot("budgets")
