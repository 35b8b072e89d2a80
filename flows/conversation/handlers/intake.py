"""Moving one conversation through its flow: choose a category, enter steps, save answers, file.

Also what starts, resumes or restarts an intake (/start, /new, the category buttons) and what
retires a draft whose flow version is no longer deployed.
"""

from __future__ import annotations

import uuid
from typing import Any

from flows.conversation.callbacks import GLOBAL, Press, encode
from flows.conversation.context import TurnContext
from flows.conversation.handlers import paperwork
from flows.definition import actions
from flows.definition.machine import FILED
from flows.definition.schema import REMEDIES
from flows.definition.texts import pick
from flows.model import Button
from flows.records import NewCase, NewReminder


async def on_start(ctx: TurnContext, arg: str) -> None:
    """Greet and show the menu (/start), or offer to resume the intake in progress."""
    await _menu_or_resume(ctx, greeting=True)


async def on_new(ctx: TurnContext, arg: str) -> None:
    """Show the menu to start a complaint (/new), or offer to resume the one in progress."""
    await _menu_or_resume(ctx, greeting=ctx.fresh)


async def on_new_button(ctx: TurnContext, press: Press) -> None:
    """Start a new complaint from a button (after filing or cancelling), like /new."""
    await on_new(ctx, "")


async def _menu_or_resume(ctx: TurnContext, *, greeting: bool) -> None:
    if ctx.conv.state is not None and ctx.machine is not None:
        await offer_resume(ctx)
    else:
        await ctx.show_menu(greeting=greeting)


async def offer_resume(ctx: TurnContext) -> None:
    """Ask whether to go on with the intake in progress or to start over."""
    conv, state, machine = ctx.conv, ctx.conv.state, ctx.machine
    assert machine is not None and state is not None
    total = len(conv.history) + machine.remaining(state, conv.answers)
    ctx.say(
        ctx.t(
            "resume_prompt",
            title=pick(machine.flow.title, ctx.lang),
            n=min(len(conv.history) + 1, total),
            total=total,
        ),
        (
            (
                Button(ctx.t("continue"), encode(GLOBAL, "resume")),
                Button(ctx.t("start_over"), encode(GLOBAL, "restart")),
            ),
        ),
    )


async def on_resume(ctx: TurnContext, press: Press) -> None:
    """Ask the current question again ("continue")."""
    await ctx.ask_current()


async def on_restart(ctx: TurnContext, press: Press) -> None:
    """Drop the intake in progress and show the menu ("start over")."""
    abandon(ctx)
    await ctx.show_menu()


async def on_category(ctx: TurnContext, press: Press) -> None:
    """Start the intake of the category pressed in the menu."""
    if ctx.services.flows.get(press.arg) is None:
        await ctx.expired()
        return
    await start_flow(ctx, press.arg)


async def retire_gone_draft(ctx: TurnContext) -> None:
    """Before anything else: drop an intake whose flow version is no longer deployed.

    The message is then handled as from someone idle.
    """
    if ctx.conv.state is not None and ctx.machine is None:
        await retire_draft(ctx)


async def start_flow(ctx: TurnContext, flow_id: str) -> None:
    """Start the intake of `flow_id` at its first question."""
    flow = ctx.services.flows.get(flow_id)
    assert flow is not None
    conv = ctx.conv
    conv.flow_id, conv.flow_version = flow.id, flow.version
    conv.answers, conv.history = {}, []
    conv.draft_id = uuid.uuid4().hex
    enter(ctx, flow.first)
    ctx.event("started", flow=flow.ref)
    await ctx.save()
    if flow.intro:
        ctx.say(pick(flow.intro, ctx.lang))
    await ctx.ask_current()


def enter(ctx: TurnContext, state: str) -> None:
    """Move to `state`: a new turn (older buttons expire) and fresh scratch for the step."""
    conv = ctx.conv
    editing = conv.pending.get("editing") and state != machine_confirm(ctx)
    conv.state = state
    conv.turn += 1
    conv.pending = {"editing": True} if editing else {}
    step = ctx.step
    previous = conv.answers.get(state)
    if step.expect == "multi" and isinstance(previous, dict):
        conv.pending["selected"] = list(previous.get("selected", []))
        conv.pending["other"] = previous.get("other")
    ctx.dirty = True


def machine_confirm(ctx: TurnContext) -> str:
    """Return the summary step of the intake in progress."""
    assert ctx.machine is not None
    return ctx.machine.flow.confirm_step


async def advance(ctx: TurnContext, value: Any, prefix: str = "") -> None:
    """Save the answer to the current step and move to the step its routes lead to.

    `prefix` is said before the next question (what a typed answer was read as).
    """
    machine, conv, step = ctx.machine, ctx.conv, ctx.step
    assert machine is not None
    changed = conv.answers.get(step.id, value) != value
    conv.answers[step.id] = value
    for name in step.actions:
        conv.answers.update(actions.ACTIONS[name](conv.answers))
    if changed:
        drop_unoffered(ctx)
    target = await machine.fire("next", step.id, conv.answers)
    if target is None:
        raise RuntimeError(f"{machine.flow.ref}: no route out of '{step.id}'")
    conv.history.append(step.id)
    if conv.pending.get("editing"):
        if changed:
            ctx.event("edited", label=ctx.services.render.label(step, ctx.lang))
        # Only the questions the change opened up are asked; the rest keep their answers.
        while target != machine.flow.confirm_step and target in conv.answers:
            conv.history.append(target)
            target = machine.next_step(target, conv.answers) or machine.flow.confirm_step
    enter(ctx, target)
    await ctx.save()
    if step.expect == "choice" and (option := step.option(str(value))) and option.advice:
        ctx.say(pick(option.advice, ctx.lang))
    await ctx.ask_current(prefix=prefix)


def drop_unoffered(ctx: TurnContext) -> None:
    """Drop what later answers chose that the changed answers no longer offer.

    A remedy offered for spam ("stop texting me") must not stay in a case changed to missing
    codes; a multi answer left empty, or a choice no longer offered, is asked again.
    """
    assert ctx.machine is not None
    answers = ctx.conv.answers
    for other in ctx.machine.flow.steps.values():
        answer = answers.get(other.id)
        if other.expect not in ("choice", "multi") or answer is None:
            continue
        offered = {o.id for o in other.shown(answers)}
        if other.expect == "choice" and answer not in offered:
            del answers[other.id]
        elif isinstance(answer, dict):
            kept = [o for o in answer.get("selected", []) if o in offered]
            if kept == list(answer.get("selected", [])):
                continue
            if kept or answer.get("other"):
                answers[other.id] = {**answer, "selected": kept}
            else:
                del answers[other.id]


async def back(ctx: TurnContext) -> None:
    """Go back to the previous question (from the first one: to the menu)."""
    conv = ctx.conv
    if not conv.history:
        abandon(ctx)
        await ctx.show_menu()
        return
    conv.pending.pop("editing", None)
    enter(ctx, conv.history.pop())
    await ctx.save()
    await ctx.ask_current()


def abandon(ctx: TurnContext) -> None:
    """Drop the intake in progress, with the evidence uploaded for it."""
    conv = ctx.conv
    if conv.draft_id and conv.state is not None:
        ctx.commit.discard_draft = conv.draft_id
    conv.flow_id = conv.flow_version = conv.state = None
    conv.answers, conv.history, conv.pending = {}, [], {}
    ctx.dirty = True


async def retire_draft(ctx: TurnContext) -> None:
    """Drop an intake whose flow version is no longer deployed, and say so."""
    abandon(ctx)
    await ctx.save()
    ctx.say(ctx.t("flow_retired"))


async def edit(ctx: TurnContext, step_id: str) -> None:
    """Ask `step_id` again from the summary; only what the change opens up is asked after it."""
    machine, conv = ctx.machine, ctx.conv
    assert machine is not None and conv.state is not None
    target = await machine.fire(f"edit_{step_id}", conv.state, conv.answers)
    if target is None:
        await ctx.expired()
        return
    conv.history = conv.history[: conv.history.index(step_id)]
    conv.pending = {"editing": True}
    enter(ctx, target)
    await ctx.save()
    await ctx.ask_current()


async def file_case(ctx: TurnContext) -> None:
    """File the case from the summary, set its deadline, then send its letter."""
    machine, conv = ctx.machine, ctx.conv
    assert machine is not None and conv.state is not None
    if await machine.fire("confirm", conv.state, conv.answers) != FILED:
        await ctx.expired()
        return
    flow = machine.flow
    # Only the questions on the final path make the case; derived answers are derived again
    # from them, so nothing from a branch the person later routed around slips in.
    answers = {s: conv.answers[s] for s in conv.history if s in conv.answers}
    for step_id in conv.history:
        for name in flow.steps[step_id].actions:
            answers.update(actions.ACTIONS[name](answers))
    remedies = answers.get(REMEDIES) or {}
    chosen = list(remedies.get("selected", [])) + (["other"] if remedies.get("other") else [])
    followups = ctx.services.followups
    filing = followups.filing(flow, answers, ctx.now, ctx.lang)
    due = filing.due
    ctx.commit.new_case = NewCase(
        category=flow.id,
        problem=answers.get("problem"),
        flow_id=flow.id,
        flow_version=flow.version,
        language=ctx.lang,
        answers=answers,
        remedies=chosen,
        created_at=ctx.now,
        state=followups.lifecycle.initial,
        rung=filing.rung,
        due_at=due.at if due else None,
        reminder=NewReminder("deadline", due.at) if due else None,
    )
    ctx.event("filed")
    if due is not None:
        channel = flow.ladder[filing.rung].channel
        ctx.event("deadline_set", channel=channel, day=due.day.isoformat())
    conv.flow_id = conv.flow_version = conv.state = None
    conv.answers, conv.history, conv.pending = {}, [], {}
    conv.turn += 1
    ctx.dirty = True
    number = await ctx.save()
    assert number is not None
    followups.filed(due)
    ctx.say(
        f"{ctx.t('filed', number=number)}\n\n{filing.message}",
        (
            (
                Button(ctx.t("view_case"), encode(GLOBAL, "case", number)),
                Button(ctx.t("new_case"), encode(GLOBAL, "new")),
            ),
        ),
    )
    await paperwork.after_filing(ctx, number)
