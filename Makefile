# Two commands on a fresh machine: `make chat` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat run test soak fuzz train lint typecheck flows-check bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ocr,train]'
	touch $(STAMP)

## chat: talk to the bot in this terminal (SQLite under ./data, no account needed)
chat: $(STAMP)
	$(BIN)/complaint-bot chat

## run: start the Telegram bot (needs TELEGRAM_BOT_TOKEN or telegram.token in config.yaml)
run: $(STAMP)
	$(BIN)/complaint-bot run

## test: lint, type-check, validate the flows, run the whole test suite
# Bytecode is written (to the git-ignored __pycache__ folders) even where the environment says
# PYTHONDONTWRITEBYTECODE: the suite starts bot processes again and again, and compiling the
# bot's modules anew at each start made the start-up 1.19x as long (docs/performance.md).
# Four xdist workers on two cores: many tests wait on a bot process, a server or a timer, and
# with two workers the cores were busy only about half the time (docs/performance.md).
test: lint typecheck flows-check
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 4

## soak: the crash tests (Telegram, WeChat) with 300 SIGKILLs each (CRASH_SEED=N replays a
## run), the failover test with 30 leader kills, and two processes on 10 minutes of due reminders
soak: $(STAMP)
	CRASH_KILLS=300 $(BIN)/python -m pytest tests/bot/test_crash.py tests/bot/test_wecom_crash.py -s -k sigkill
	FAILOVER_KILLS=30 $(BIN)/python -m pytest tests/bot/test_failover.py -s
	REMINDER_SOAK_MINUTES=10 $(BIN)/python -m pytest tests/bot/test_postgres_reminders.py -s

## bench: run every benchmark at the sizes its target is set for (about 20 minutes)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

## bench-quick: every benchmark at tiny sizes (seconds): does it all still run?
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --quick

## fuzz: the stateful conversation fuzzer with many more sequences than make test (minutes)
fuzz: $(STAMP)
	FUZZ_PROFILE=soak $(BIN)/python -m pytest tests/flows/test_fuzz_conversations.py

## train: rewrite the message corpus (corpus/) and retrain bot/models/scam_model.json from it
train: $(STAMP)
	$(BIN)/python corpus/generate.py
	$(BIN)/python -m bot.scam_training

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

flows-check: $(STAMP)
	$(BIN)/complaint-bot flows check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
