"""The Stripe stand-in, driven by the real ``stripe`` SDK (async calls, as Weft's worker makes them).

These tests are what other payout tests rely on: if the stand-in answered differently from Stripe here, a
payout test against it would prove nothing. No database is involved.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe

from tests.stripe_standin import CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET, StandinServer, WebhookReceiver

RECIPIENT = {"recipient": {"capabilities": {"stripe_balance": {"stripe_transfers": {"requested": True}}}}}
CAPABILITY_UPDATED = "v2.core.account[configuration.recipient].capability_status_updated"


async def an_account(client: stripe.StripeClient, **values: Any) -> Any:
    """A new recipient account as Weft creates one for an agent."""
    return await client.v2.core.accounts.create_async(
        {
            "display_name": "Ana Lima",
            "contact_email": "ana@example.com",
            "dashboard": "express",
            "identity": {"country": "DE"},
            "defaults": {
                "currency": "eur",
                "responsibilities": {"fees_collector": "application", "losses_collector": "application"},
            },
            "configuration": RECIPIENT,
            "include": ["configuration.recipient", "requirements", "identity"],
            "metadata": {"weft_agent": "7"},
            **values,
        }
    )


async def a_ready_account(standin: StandinServer, client: stripe.StripeClient) -> str:
    account = await an_account(client)
    standin.onboard(account.id, emit_events=False)
    return account.id


async def a_link(client: stripe.StripeClient, account: str) -> Any:
    return await client.v2.core.account_links.create_async(
        {
            "account": account,
            "use_case": {
                "type": "account_onboarding",
                "account_onboarding": {
                    "configurations": ["recipient"],
                    "refresh_url": "http://weft.test/earnings/payouts/refresh",
                    "return_url": "http://weft.test/earnings/payouts/return",
                },
            },
        }
    )


def transfers_status(account: Any) -> str:
    return account.configuration.recipient.capabilities.stripe_balance.stripe_transfers.status


async def test_new_account_cannot_receive_transfers_until_requirements_are_met(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()

    account = await an_account(client)

    assert account.object == "v2.core.account"
    assert account.id.startswith("acct_")
    assert account.livemode is False
    assert account.applied_configurations == ["recipient"]
    assert transfers_status(account) == "restricted"
    assert account.configuration.recipient.capabilities.stripe_balance.stripe_transfers.status_details[0].code == (
        "requirements_past_due"
    )
    assert {entry.minimum_deadline.status for entry in account.requirements.entries} == {"currently_due"}
    assert {entry.awaiting_action_from for entry in account.requirements.entries} == {"user"}
    assert account.requirements.summary.minimum_deadline.time.endswith("Z")
    assert account.identity.country == "DE"
    assert account.metadata["weft_agent"] == "7"

    bare = await client.v2.core.accounts.retrieve_async(account.id)
    assert bare.configuration is None
    assert bare.requirements is None
    found = await client.v2.core.accounts.retrieve_async(account.id, {"include": ["configuration.recipient"]})
    assert transfers_status(found) == "restricted"
    assert found.configuration.recipient.default_outbound_destination is None

    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v2.core.accounts.retrieve_async("acct_nobody")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"


async def test_account_in_a_country_stripe_cannot_pay_is_unsupported(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()

    account = await an_account(client, identity={"country": "CN"}, defaults={"currency": "cny"})

    assert transfers_status(account) == "unsupported"


async def test_account_update_changes_name_and_merges_metadata(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await an_account(client)

    updated = await client.v2.core.accounts.update_async(
        account.id, {"display_name": "Ana L.", "metadata": {"site": "berlin"}}
    )

    assert updated.display_name == "Ana L."
    assert updated.metadata.to_dict() == {"weft_agent": "7", "site": "berlin"}


async def test_onboarding_on_the_hosted_page_makes_the_account_ready(
    stripe_standin: StandinServer, webhook_receiver: WebhookReceiver
) -> None:
    stripe_standin.configure(connect_webhook_url=f"{webhook_receiver.url}/connect")
    client = stripe_standin.client()
    account = await an_account(client)
    link = await a_link(client, account.id)
    assert link.object == "v2.core.account_link"
    assert link.url.startswith(f"{stripe_standin.url}/hosted/onboarding/")
    assert link.expires_at > link.created

    async with httpx.AsyncClient() as browser:
        page = await browser.get(link.url)
        again = await browser.get(link.url)
    assert "Full name" in page.text
    assert "Bank account" in page.text
    assert 'id="Submit"' in page.text
    assert again.headers["location"] == "http://weft.test/earnings/payouts/refresh"  # single use

    finished = stripe_standin.complete_onboarding((await a_link(client, account.id)).url, full_name="Ana Lima")
    assert finished.status_code == 303
    assert finished.headers["location"] == "http://weft.test/earnings/payouts/return"

    ready = await client.v2.core.accounts.retrieve_async(
        account.id, {"include": ["configuration.recipient", "requirements", "defaults"]}
    )
    assert transfers_status(ready) == "active"
    assert ready.requirements.entries == []
    assert ready.requirements.summary.minimum_deadline is None
    destination = ready.configuration.recipient.default_outbound_destination
    assert destination.id.startswith("ba_")
    assert "instant" not in destination.available_payout_methods  # recipient accounts: standard payouts only
    assert ready.defaults.payout_methods["eur"] == destination.id

    received = webhook_receiver.wait_for(2)
    assert [json.loads(r.body)["type"] for r in received] == ["v2.core.account.updated", CAPABILITY_UPDATED]
    assert all(r.path == "/connect" for r in received)


async def test_a_new_bank_number_gives_a_new_fingerprint(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await an_account(client)
    stripe_standin.complete_onboarding((await a_link(client, account.id)).url)
    first = (await client.v1.accounts.external_accounts.list_async(account.id)).data[0]

    stripe_standin.complete_onboarding((await a_link(client, account.id)).url)
    same = (await client.v1.accounts.external_accounts.list_async(account.id)).data[0]
    stripe_standin.complete_onboarding((await a_link(client, account.id)).url, bank_account="DE89370400440532013000")
    changed = (await client.v1.accounts.external_accounts.list_async(account.id)).data[0]

    assert same.fingerprint == first.fingerprint
    assert changed.fingerprint != first.fingerprint
    assert changed.last4 == "3000"
    assert changed.available_payout_methods == ["standard"]


async def test_login_link_opens_the_express_dashboard(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)

    link = await client.v1.accounts.login_links.create_async(account)

    assert link.object == "login_link"
    async with httpx.AsyncClient() as browser:
        dashboard = await browser.get(link.url)
    assert dashboard.status_code == 200
    assert "Ana Lima" in dashboard.text


async def test_transfer_moves_money_from_the_platform_to_the_account(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    before = {b.currency: b.amount for b in (await client.v1.balance.retrieve_async()).available}

    transfer = await client.v1.transfers.create_async(
        {
            "amount": 12_345,
            "currency": "eur",
            "destination": account,
            "transfer_group": "run_1",
            "metadata": {"run": "1", "agent": "7"},
            "description": "Weft payout",
        },
        {"idempotency_key": "payout-1-attempt-1"},
    )

    assert transfer.object == "transfer"
    assert transfer.id.startswith("tr_")
    assert (transfer.amount, transfer.currency, transfer.destination) == (12_345, "eur", account)
    assert transfer.metadata["agent"] == "7"
    assert transfer.reversed is False
    assert transfer.amount_reversed == 0
    after = {b.currency: b.amount for b in (await client.v1.balance.retrieve_async()).available}
    assert after["eur"] == before["eur"] - 12_345
    connected = await client.v1.balance.retrieve_async(options={"stripe_account": account})
    assert connected.available[0].amount == 12_345
    assert (await client.v1.transfers.retrieve_async(transfer.id)).transfer_group == "run_1"


async def test_transfers_are_listed_by_group_page_by_page(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    made = []
    for number in range(5):
        transfer = await client.v1.transfers.create_async(
            {"amount": 100 + number, "currency": "eur", "destination": account, "transfer_group": "run_7"}
        )
        made.append(transfer.id)
    await client.v1.transfers.create_async(
        {"amount": 1, "currency": "eur", "destination": account, "transfer_group": "run_8"}
    )

    first = await client.v1.transfers.list_async({"transfer_group": "run_7", "limit": 2})
    second = await client.v1.transfers.list_async(
        {"transfer_group": "run_7", "limit": 2, "starting_after": first.data[-1].id}
    )
    everything = [
        t.id
        async for t in (
            await client.v1.transfers.list_async({"transfer_group": "run_7", "limit": 2})
        ).auto_paging_iter()
    ]

    assert [t.id for t in first.data] == made[::-1][:2]
    assert first.has_more is True
    assert [t.id for t in second.data] == made[::-1][2:4]
    assert second.has_more is True
    assert everything == made[::-1]
    assert (await client.v1.transfers.list_async({"transfer_group": "run_none"})).data == []


async def test_transfer_to_an_unknown_account_is_refused(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.transfers.create_async({"amount": 100, "currency": "eur", "destination": "acct_nobody"})

    assert (refused.value.http_status, refused.value.code, refused.value.param) == (
        400,
        "resource_missing",
        "destination",
    )


async def test_transfer_to_an_account_not_yet_onboarded_is_refused(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await an_account(client)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.transfers.create_async({"amount": 100, "currency": "eur", "destination": account.id})

    assert refused.value.code == "insufficient_capabilities_for_transfer"
    assert stripe_standin.transfers() == []


async def test_transfer_beyond_the_platform_balance_is_refused(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    stripe_standin.set_balance({"eur": 500})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.transfers.create_async({"amount": 501, "currency": "eur", "destination": account})
    assert refused.value.code == "balance_insufficient"
    assert (await client.v1.transfers.create_async({"amount": 500, "currency": "eur", "destination": account})).amount

    stripe_standin.set_balance({"eur": 10_000})
    stripe_standin.fault("balance_insufficient", times=1)
    with pytest.raises(stripe.InvalidRequestError) as forced:
        await client.v1.transfers.create_async({"amount": 100, "currency": "eur", "destination": account})
    assert forced.value.code == "balance_insufficient"
    assert (await client.v1.transfers.create_async({"amount": 100, "currency": "eur", "destination": account})).amount


async def test_same_key_and_parameters_replay_the_first_transfer(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    params = {"amount": 700, "currency": "eur", "destination": account, "metadata": {"payout": "9"}}

    first = await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    again = await client.v1.transfers.create_async(dict(params), {"idempotency_key": "payout-9-1"})

    assert again.id == first.id
    assert again.last_response.headers.get("idempotent-replayed") == "true"
    assert first.last_response.headers.get("idempotent-replayed") is None
    assert len(stripe_standin.transfers()) == 1
    assert stripe_standin.state()["duplicates_avoided"] == 1


async def test_same_key_with_other_parameters_is_an_idempotency_error(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    await client.v1.transfers.create_async(
        {"amount": 700, "currency": "eur", "destination": account}, {"idempotency_key": "payout-9-1"}
    )

    with pytest.raises(stripe.IdempotencyError) as refused:
        await client.v1.transfers.create_async(
            {"amount": 701, "currency": "eur", "destination": account}, {"idempotency_key": "payout-9-1"}
        )

    assert refused.value.http_status == 400
    assert refused.value.json_body["error"]["type"] == "idempotency_error"
    assert len(stripe_standin.transfers()) == 1


async def test_an_error_is_stored_under_its_key_too(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    stripe_standin.set_balance({"eur": 0})
    params = {"amount": 700, "currency": "eur", "destination": account}
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    stripe_standin.set_balance({"eur": 10_000})

    with pytest.raises(stripe.InvalidRequestError) as replayed:
        await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    fresh = await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-2"})

    assert replayed.value.code == "balance_insufficient"
    assert replayed.value.headers.get("idempotent-replayed") == "true"
    assert [t["id"] for t in stripe_standin.transfers()] == [fresh.id]


async def test_a_500_before_execution_stores_nothing(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    stripe_standin.fault("500", times=1, path="/v1/transfers", method="POST")
    params = {"amount": 700, "currency": "eur", "destination": account}

    with pytest.raises(stripe.APIError) as failed:
        await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    retried = await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})

    assert failed.value.http_status == 500
    assert retried.last_response.headers.get("idempotent-replayed") is None
    assert [t["id"] for t in stripe_standin.transfers()] == [retried.id]


async def test_a_transfer_made_while_the_client_timed_out_is_not_made_twice(stripe_standin: StandinServer) -> None:
    impatient = stripe_standin.client(timeout=0.3)
    account = await a_ready_account(stripe_standin, impatient)
    stripe_standin.fault("timeout_after_transfer", times=1, seconds=5)
    params = {"amount": 700, "currency": "eur", "destination": account}

    with pytest.raises(stripe.APIConnectionError):
        await impatient.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    made = stripe_standin.transfers()
    retried = await impatient.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})

    assert len(made) == 1
    assert retried.id == made[0]["id"]
    assert retried.last_response.headers.get("idempotent-replayed") == "true"
    assert len(stripe_standin.transfers()) == 1


async def test_an_injected_429_says_when_to_retry_and_stores_nothing(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    stripe_standin.fault("rate_limit", times=1, retry_after=3)
    params = {"amount": 700, "currency": "eur", "destination": account}

    with pytest.raises(stripe.RateLimitError) as limited:
        await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})
    retried = await client.v1.transfers.create_async(params, {"idempotency_key": "payout-9-1"})

    assert limited.value.http_status == 429
    assert limited.value.headers["retry-after"] == "3"
    assert limited.value.json_body["error"]["code"] == "rate_limit"
    assert retried.last_response.headers.get("idempotent-replayed") is None
    assert len(stripe_standin.transfers()) == 1


async def test_requests_beyond_the_configured_rate_get_429(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    stripe_standin.configure(requests_per_second=3)

    for _ in range(3):
        await client.v1.balance.retrieve_async()
    with pytest.raises(stripe.RateLimitError) as limited:
        await client.v1.balance.retrieve_async()

    assert limited.value.http_status == 429
    assert limited.value.headers["retry-after"] == "1"
    assert stripe_standin.state()["rate_limited"] == 1


async def test_a_missing_or_live_key_is_refused(stripe_standin: StandinServer) -> None:
    live = stripe_standin.client(key="sk_live_not_here")

    with pytest.raises(stripe.AuthenticationError) as refused:
        await live.v1.balance.retrieve_async()
    async with httpx.AsyncClient() as anyone:
        no_key = await anyone.get(f"{stripe_standin.url}/v1/balance")

    assert refused.value.http_status == 401
    assert no_key.status_code == 401
    assert "API key" in no_key.json()["error"]["message"]


async def test_a_reversal_moves_the_money_back(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    transfer = await client.v1.transfers.create_async({"amount": 1_000, "currency": "eur", "destination": account})

    partial = await client.v1.transfers.reversals.create_async(
        transfer.id, {"amount": 400, "metadata": {"reason": "wrong amount"}}
    )
    rest = await client.v1.transfers.reversals.create_async(transfer.id)

    assert partial.object == "transfer_reversal"
    assert partial.id.startswith("trr_")
    assert (partial.amount, rest.amount) == (400, 600)
    reversed_transfer = await client.v1.transfers.retrieve_async(transfer.id)
    assert reversed_transfer.reversed is True
    assert reversed_transfer.amount_reversed == 1_000
    assert [r.id for r in reversed_transfer.reversals.data] == [rest.id, partial.id]
    connected = await client.v1.balance.retrieve_async(options={"stripe_account": account})
    assert connected.available[0].amount == 0
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.transfers.reversals.create_async(transfer.id, {"amount": 1})


async def test_a_reversal_after_the_agent_was_paid_out_is_refused(
    stripe_standin: StandinServer, webhook_receiver: WebhookReceiver
) -> None:
    stripe_standin.configure(connect_webhook_url=f"{webhook_receiver.url}/connect")
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    transfer = await client.v1.transfers.create_async({"amount": 1_000, "currency": "eur", "destination": account})

    [payout] = stripe_standin.pay_out(account, status="paid")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.transfers.reversals.create_async(transfer.id)

    assert payout["amount"] == 1_000
    assert refused.value.code == "balance_insufficient"
    assert (await client.v1.transfers.retrieve_async(transfer.id)).amount_reversed == 0
    [paid] = webhook_receiver.wait_for(1)
    event = stripe.Webhook.construct_event(paid.body, paid.headers["stripe-signature"], CONNECT_WEBHOOK_SECRET)
    assert (event.type, event.account, event.data.object.id) == ("payout.paid", account, payout["id"])


async def test_a_failed_payout_returns_the_money_to_the_account(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    transfer = await client.v1.transfers.create_async({"amount": 1_000, "currency": "eur", "destination": account})
    [payout] = stripe_standin.pay_out(account)

    stripe_standin.settle_payout(payout["id"], "failed", failure_code="account_closed")
    reversal = await client.v1.transfers.reversals.create_async(transfer.id)

    assert reversal.amount == 1_000
    [failed] = stripe_standin.events("payout.failed")
    assert json.loads(failed["body"])["data"]["object"]["failure_code"] == "account_closed"


async def test_payouts_on_a_connected_account(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    await client.v1.transfers.create_async({"amount": 1_000, "currency": "eur", "destination": account})
    on_account = {"stripe_account": account}

    with pytest.raises(stripe.InvalidRequestError) as instant:
        await client.v1.payouts.create_async({"amount": 100, "currency": "eur", "method": "instant"}, on_account)
    payout = await client.v1.payouts.create_async({"amount": 600, "currency": "eur"}, on_account)
    found = await client.v1.payouts.retrieve_async(payout.id, options=on_account)

    assert instant.value.code == "instant_payouts_unsupported"
    assert (found.object, found.status, found.method, found.amount) == ("payout", "pending", "standard", 600)
    assert (await client.v1.balance.retrieve_async(options=on_account)).available[0].amount == 400
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payouts.retrieve_async(payout.id)  # not the platform's payout


async def test_thin_events_verify_and_lead_to_the_account(
    stripe_standin: StandinServer, webhook_receiver: WebhookReceiver
) -> None:
    stripe_standin.configure(connect_webhook_url=f"{webhook_receiver.url}/connect")
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)

    stripe_standin.fault("capability_inactive", account=account)

    received = webhook_receiver.wait_for(2)
    changed = next(r for r in received if json.loads(r.body)["type"] == CAPABILITY_UPDATED)
    notification = client.parse_event_notification(
        changed.body, changed.headers["stripe-signature"], CONNECT_WEBHOOK_SECRET
    )
    assert notification.related_object.id == account
    event = await notification.fetch_event_async()
    assert event.data.updated_capability == "stripe_balance.stripe_transfers"
    fetched = await client.v2.core.accounts.retrieve_async(
        account, {"include": ["configuration.recipient", "requirements"]}
    )
    assert transfers_status(fetched) == "restricted"
    assert fetched.requirements.entries[0].minimum_deadline.status == "past_due"
    assert fetched.requirements.summary.minimum_deadline.status == "past_due"
    with pytest.raises(stripe.SignatureVerificationError):
        client.parse_event_notification(
            changed.body + b" ", changed.headers["stripe-signature"], CONNECT_WEBHOOK_SECRET
        )
    with pytest.raises(stripe.SignatureVerificationError):
        client.parse_event_notification(changed.body, changed.headers["stripe-signature"], WEBHOOK_SECRET)
    record = stripe_standin.wait_for_deliveries(2)[-1]
    assert record["deliveries"][0]["status"] == 200


async def test_snapshot_events_of_transfers_verify_with_construct_event(
    stripe_standin: StandinServer, webhook_receiver: WebhookReceiver
) -> None:
    stripe_standin.configure(webhook_url=f"{webhook_receiver.url}/platform", livemode=True)
    client = stripe_standin.client()
    account = await a_ready_account(stripe_standin, client)
    transfer = await client.v1.transfers.create_async({"amount": 1_000, "currency": "eur", "destination": account})

    stripe_standin.emit("transfer.created", transfer.id)

    [arrived] = webhook_receiver.wait_for(1)
    assert arrived.path == "/platform"
    event = stripe.Webhook.construct_event(arrived.body, arrived.headers["stripe-signature"], WEBHOOK_SECRET)
    assert (event.type, event.livemode, event.data.object.id) == ("transfer.created", True, transfer.id)
    [record] = stripe_standin.events("transfer.created")
    assert record["body"].encode() == arrived.body
    assert record["signature"] == arrived.headers["stripe-signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(arrived.body.replace(b"1000", b"9000"), record["signature"], WEBHOOK_SECRET)


async def test_events_are_kept_even_without_a_webhook_url(stripe_standin: StandinServer) -> None:
    client = stripe_standin.client()
    account = await an_account(client)

    stripe_standin.onboard(account.id)

    events = stripe_standin.events()
    assert [e["type"] for e in events] == ["v2.core.account.updated", CAPABILITY_UPDATED]
    assert all(e["deliveries"] == [] for e in events)
    for event in events:
        client.parse_event_notification(event["body"], event["signature"], CONNECT_WEBHOOK_SECRET)
