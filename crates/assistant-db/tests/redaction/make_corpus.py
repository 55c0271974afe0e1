#!/usr/bin/env python3
"""Writes corpus.jsonl: the labelled texts the redaction accuracy test reads.

Deterministic (fixed seed): run it again and the file comes out byte for byte the same.
Every positive value is generated to be valid by its own rules (card numbers by the
networks' prefixes and the Luhn check, IBANs by each country's BBAN layout and mod-97,
SSNs by the area/group/serial rules); every hard negative is built to fail them, or to
be a number of another sort (amounts, dates, times, UUIDs, order and branch numbers).

Each line: {"id", "role", "text", "expect": [{"kind", "value"}], "note"?}. `value` is
the exact substring the engine should find; kinds are card, iban, email, phone, ssn,
account, cvv.
"""
import json
import random
import string
import uuid
from pathlib import Path

rng = random.Random(20250601)
OUT = Path(__file__).with_name("corpus.jsonl")


# --- valid numbers -----------------------------------------------------------------

def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(body):
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError(body)


def luhn_break(pan):
    last = str((int(pan[-1]) + 1) % 10)
    bad = pan[:-1] + last
    assert not luhn_ok(bad)
    return bad


PUBLISHED_PANS = [
    ("visa", "4111111111111111"), ("visa", "4012888888881881"), ("visa", "4222222222222"),
    ("visa", "4242424242424242"), ("visa", "4000056655665556"),
    ("mastercard", "5555555555554444"), ("mastercard", "5105105105105100"),
    ("mastercard", "2223003122003222"), ("mastercard", "5200828282828210"),
    ("amex", "378282246310005"), ("amex", "371449635398431"), ("amex", "378734493671000"),
    ("discover", "6011111111111117"), ("discover", "6011000990139424"),
    ("diners", "30569309025904"), ("diners", "38520000023237"), ("diners", "36227206271667"),
    ("jcb", "3530111333300000"), ("jcb", "3566002020360505"),
    ("unionpay", "6200000000000005"), ("maestro", "6759649826438453"),
]
for _, pan in PUBLISHED_PANS:
    assert luhn_ok(pan), pan

# (network, prefix, length)
GENERATED_NETWORKS = [
    ("visa", "4", 16), ("visa", "4", 19), ("visa", "4", 13), ("mastercard", "52", 16),
    ("mastercard", "2720", 16), ("mastercard", "2221", 16), ("amex", "34", 15),
    ("amex", "37", 15), ("discover", "65", 16), ("discover", "644", 16),
    ("diners", "36", 14), ("diners", "300", 14), ("jcb", "3528", 16), ("jcb", "3589", 19),
    ("unionpay", "62", 19), ("unionpay", "81", 16), ("maestro", "50", 18),
    ("maestro", "6759", 19), ("mir", "2200", 16), ("rupay", "60", 16),
]


def generated_pan(prefix, length):
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def group(pan, sep, sizes=None):
    if sizes is None:
        if len(pan) == 15:
            sizes = [4, 6, 5]
        elif len(pan) == 14:
            sizes = [4, 6, 4]
        else:
            sizes = [4] * (len(pan) // 4) + ([len(pan) % 4] if len(pan) % 4 else [])
    out, i = [], 0
    for s in sizes:
        out.append(pan[i:i + s])
        i += s
    assert i == len(pan)
    return sep.join(out)


def iban_check(country, bban):
    rearranged = bban + country + "00"
    number = "".join(str(int(c, 36)) for c in rearranged)
    return "%02d" % (98 - int(number) % 97)


def iban_ok(iban):
    iban = iban.replace(" ", "").upper()
    number = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(number) % 97 == 1


BBAN_LAYOUTS = {
    "GB": "4a6n8n", "DE": "8n10n", "FR": "5n5n11c2n", "NL": "4a10n", "BE": "3n7n2n",
    "ES": "4n4n1n1n10n", "IT": "1a5n5n12c", "CH": "5n12c", "AT": "5n11n", "IE": "4a6n8n",
    "PL": "8n16n", "SE": "3n16n1n", "NO": "4n6n1n", "DK": "4n9n1n", "FI": "3n11n",
    "PT": "4n4n11n2n", "LU": "3n13c", "MT": "4a5n18c", "SA": "2n18c", "AE": "3n16n",
    "TR": "5n1n16c", "HR": "7n10n", "CZ": "4n6n10n", "RO": "4a16c",
}


def random_bban(layout):
    out, num = [], ""
    for ch in layout:
        if ch.isdigit():
            num += ch
            continue
        n, num = int(num), ""
        alphabet = {"n": string.digits, "a": string.ascii_uppercase,
                    "c": string.ascii_uppercase + string.digits}[ch]
        out.append("".join(rng.choice(alphabet) for _ in range(n)))
    return "".join(out)


def generated_iban(country):
    bban = random_bban(BBAN_LAYOUTS[country])
    iban = country + iban_check(country, bban) + bban
    assert iban_ok(iban)
    return iban


def print_form(iban):
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


PUBLISHED_IBANS = [
    "GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
    "NL91ABNA0417164300", "BE68539007547034", "CH9300762011623852957",
    "ES9121000418450200051332", "IT60X0542811101000000123456", "AT611904300234573201",
    "IE29AIBK93115212345678", "PL61109010140000071219812874", "NO9386011117947",
]
for iban in PUBLISHED_IBANS:
    assert iban_ok(iban), iban


def broken_iban(iban):
    check = int(iban[2:4])
    bad = iban[:2] + "%02d" % ((check + 1) % 100 or 2) + iban[4:]
    assert not iban_ok(bad)
    return bad


def ssn():
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return "%03d-%02d-%04d" % (area, rng.randint(1, 99), rng.randint(1, 9999))


def aba():
    while True:
        body = "".join(rng.choice(string.digits) for _ in range(8))
        for d in string.digits:
            n = body + d
            w = [3, 7, 1] * 3
            if sum(int(c) * k for c, k in zip(n, w)) % 10 == 0:
                return n


# --- the texts ---------------------------------------------------------------------

rows = []


def add(role, text, expect=(), note=None, kind_id=None):
    for kind, value in expect:
        assert value in text, (value, text)
    row = {"id": None, "role": role, "text": text,
           "expect": [{"kind": k, "value": v} for k, v in expect]}
    if note:
        row["note"] = note
    row["_group"] = kind_id or (expect[0][0] if expect else "negative")
    rows.append(row)


CARD_TEMPLATES = [
    ("customer", "Hi, my card {v} was charged twice for the same Amazon order, can you reverse one?"),
    ("customer", "I think someone cloned my card. The number is {v}, please block it now."),
    ("customer", "Can you check why a payment on {v} was declined at the pharmacy yesterday?"),
    ("customer", "card: {v} exp 09/27 - is this one still active?"),
    ("customer", "why was my {v} debit card refused abroad?? I told you I was travelling"),
    ("banker", "Customer reports a duplicate charge on PAN {v}; please advise on chargeback timelines."),
    ("banker", "Client read out card number ({v}) over chat; how do I raise a fraud case?"),
    ("response", "I can't see full card numbers, but I have flagged the card you mentioned ({v}) for our fraud team."),
    ("response", "Thanks. For the card {v}, a replacement will arrive in 5-7 business days."),
    ("classification", "User shared a full card number {v} while asking about a refund."),
    ("escalation", "Possible card compromise: customer typed PAN={v} in the chat."),
    ("customer", "\"{v}\" <- that's the card, it got swallowed by the ATM on Main St."),
]
SEPARATORS = [("", None), (" ", None), ("-", None)]

card_rows = 0
for i, (network, pan) in enumerate(PUBLISHED_PANS):
    for j, (sep, sizes) in enumerate(SEPARATORS):
        role, template = CARD_TEMPLATES[(i * 3 + j) % len(CARD_TEMPLATES)]
        value = pan if sep == "" else group(pan, sep, sizes)
        add(role, template.format(v=value), [("card", value)], note=network)
        card_rows += 1
for i, (network, prefix, length) in enumerate(GENERATED_NETWORKS):
    pan = generated_pan(prefix, length)
    sep = ["", " ", "-"][i % 3]
    value = pan if sep == "" else group(pan, sep)
    role, template = CARD_TEMPLATES[(i * 5 + 1) % len(CARD_TEMPLATES)]
    add(role, template.format(v=value), [("card", value)], note=network + " generated")

# Cards next to other numbers and kinds.
a, b = "4111 1111 1111 1111", "5555-5555-5555-4444"
add("customer", f"I have two cards, {a} and {b}, and both were blocked this morning.",
    [("card", a), ("card", b)])
add("customer", f"Cards 4242424242424242 5105105105105100 both show pending charges",
    [("card", "4242424242424242"), ("card", "5105105105105100")])
add("customer", "Card 4111 1111 1111 1111 2 times declined today at the same shop",
    [("card", "4111 1111 1111 1111")], note="a count right after the card")
add("customer", "My card is 5555 5555 5555 4444 exp 12/27 CVV 123, please update my subscription.",
    [("card", "5555 5555 5555 4444"), ("cvv", "123")])
add("customer", "card no 378282246310005, security code 4321, billing zip 10001",
    [("card", "378282246310005"), ("cvv", "4321")])
add("customer", "Call me at +44 20 7946 0958 about card 6011 1111 1111 1117 please",
    [("phone", "+44 20 7946 0958"), ("card", "6011 1111 1111 1117")])
add("banker", "PAN:4012888888881881;amount:125.00;merchant:ACME LTD",
    [("card", "4012888888881881")], note="machine-style log line")
add("customer", "(4000 0566 5566 5556) is the card I used for the hotel deposit",
    [("card", "4000 0566 5566 5556")])
add("response", "Card ending 1111 (full number 4111-1111-1111-1111 as you wrote) is now frozen.",
    [("card", "4111-1111-1111-1111")])
add("customer", "my cc# 3530111333300000.",
    [("card", "3530111333300000")])

IBAN_TEMPLATES = [
    ("customer", "Please send the refund to my IBAN {v}, the old account is closed."),
    ("customer", "Is {v} the right IBAN format for a SEPA transfer from Germany?"),
    ("customer", "I want to set up a standing order to {v} for 450 EUR every month"),
    ("banker", "Beneficiary IBAN {v} was rejected by the correspondent bank; what are common causes?"),
    ("banker", "Client wants to change the payout account to IBAN:{v} - what checks are needed?"),
    ("response", "The transfer to {v} is scheduled and should arrive within one business day."),
    ("classification", "Customer disclosed an IBAN ({v}) while asking about transfer fees."),
    ("escalation", "Large outgoing payment to new payee {v}; requires manual review."),
]
for i, iban in enumerate(PUBLISHED_IBANS):
    for j, form in enumerate([print_form(iban), iban]):
        role, template = IBAN_TEMPLATES[(i * 2 + j) % len(IBAN_TEMPLATES)]
        add(role, template.format(v=form), [("iban", form)], note=iban[:2])
for i, country in enumerate(BBAN_LAYOUTS):
    iban = generated_iban(country)
    form = [print_form(iban), iban, iban.lower()][i % 3]
    role, template = IBAN_TEMPLATES[(i * 3 + 1) % len(IBAN_TEMPLATES)]
    add(role, template.format(v=form), [("iban", form)], note=country + " generated")
add("customer", "Pay GB82 WEST 1234 5698 7654 32 4111 1111 1111 1111 is my card too",
    [("iban", "GB82 WEST 1234 5698 7654 32"), ("card", "4111 1111 1111 1111")],
    note="an IBAN followed by a card")
add("customer", "IBANs: DE89 3704 0044 0532 0130 00, NL91ABNA0417164300.",
    [("iban", "DE89 3704 0044 0532 0130 00"), ("iban", "NL91ABNA0417164300")])

EMAILS = [
    "jane.doe@example.com", "john.smith+bank@example.co.uk", "o'brien@example.ie",
    "J.Martinez@Example.ORG", "first_last123@mail.example.net", "a.b-c@sub-domain.example.io",
    "support-team@bank.example", "m.müller@beispiel.de", "josé.garcía@ejemplo.es",
    "x@example.fr", "customer.service@example-bank.com", "priya.k@example.in",
    "li.wei@example.cn", "anna-maria.nowak@poczta.example.pl", "user%tag@example.com",
    "ivan.petrov@пример.рф", "noreply@alerts.example.com", "d.o'connor@example.ie",
    "sam_2024@example.us", "billing@xn--exmple-cua.com",
]
EMAIL_TEMPLATES = [
    ("customer", "Please send the statement to {v} instead of my old address."),
    ("customer", "my email is {v}, why didn't I get the OTP?"),
    ("customer", "Can you update my contact email to <{v}>?"),
    ("banker", "Customer asks that all correspondence go to {v}; is written consent needed?"),
    ("response", "We have sent the confirmation to {v}. Please also check your spam folder."),
    ("classification", "User provided an e-mail address ({v}) to receive documents."),
    ("escalation", "Customer insists on contact via {v} only, outside our standard channels."),
    ("customer", "reach me at mailto:{v} thanks"),
]
for i, email in enumerate(EMAILS):
    for j in range(2):
        role, template = EMAIL_TEMPLATES[(i * 2 + j) % len(EMAIL_TEMPLATES)]
        add(role, template.format(v=email), [("email", email)])

PHONES = [
    "+44 20 7946 0958", "+442079460958", "+44 (0)20 7946 0958", "+1 (212) 555-0123",
    "+1 212-555-0187", "+1 415 555 0132", "+33 6 12 34 56 78", "+33612345678",
    "+49 30 12345678", "+49 151 23456789", "+353 1 234 5678", "+34 612 34 56 78",
    "+39 06 1234 5678", "+31 20 123 4567", "+61 2 9876 5432", "+91 98765 43210",
    "+81 3-1234-5678", "+27 21 555 0123", "+65 6123 4567", "+52 55 1234 5678",
    "0044 20 7946 0958", "00 33 6 12 34 56 78",
    "(212) 555-0123", "212-555-0199", "212.555.0142", "1-800-555-0199", "1 (800) 555-0100",
    "020 7946 0958", "07700 900123", "0161 496 0000", "0113 496 0123", "06 12 34 56 78",
    "01.23.45.67.89", "030 12345678", "0171 1234567", "030/1234567", "(020) 7946 0958",
    "06-12345678", "02 1234 5678",
]
PHONE_TEMPLATES = [
    ("customer", "You can call me back on {v} after 5pm."),
    ("customer", "My new phone number is {v}, please update it for SMS codes."),
    ("customer", "I got a call from {v} claiming to be your fraud team, is that real?"),
    ("banker", "Customer requests a callback at {v} regarding the mortgage offer."),
    ("response", "Our team will phone you at {v} within 24 hours."),
    ("classification", "User gave a contact number ({v}) and asked for a callback."),
    ("escalation", "Callback requested on {v}; customer is distressed about missing funds."),
]
for i, phone in enumerate(PHONES):
    role, template = PHONE_TEMPLATES[i % len(PHONE_TEMPLATES)]
    add(role, template.format(v=phone), [("phone", phone)])
for text, value in [
    ("call me on 07700900123 when you can", "07700900123"),
    ("my mobile is 2125550123", "2125550123"),
    ("Text me at 0612345678 please", "0612345678"),
    ("Tel: 4402079460958", "4402079460958"),
    ("whatsapp 447700900456 if the line is busy", "447700900456"),
    ("phone number is 030 1234 5678 9", "030 1234 5678 9"),
]:
    add("customer", text, [("phone", value)], note="bare digits after a context word")

SSN_TEMPLATES = [
    ("customer", "For the tax form, my SSN is {v}."),
    ("customer", "do you need my social security number? it's {v}"),
    ("banker", "Applicant SSN {v} does not match the credit bureau file; next steps?"),
    ("customer", "I entered {v} on the W-9 but the upload failed"),
    ("escalation", "Identity check failed for SSN {v}; route to KYC team."),
]
for i in range(15):
    value = ssn()
    if i % 5 == 3:
        value = value.replace("-", " ")
    if i % 4 == 1:
        value = value.replace("-", "")
        template = ("customer", "SSN: {v} - is that enough to open the account?")
    else:
        template = SSN_TEMPLATES[i % len(SSN_TEMPLATES)]
    role, t = template
    add(role, t.format(v=value), [("ssn", value)])

ACCOUNT_TEXTS = [
    ("customer", "My account number is {a}, why is the balance wrong?", "a"),
    ("customer", "acct #: {a} - please close it", "a"),
    ("customer", "Account no. {a} was debited twice", "a"),
    ("banker", "Routing number {r} and account {a} for the wire, please confirm.", "ra"),
    ("customer", "sort code 20-00-00, account number {u}", "su"),
    ("customer", "Is the ABA {r} right for domestic wires?", "r"),
    ("customer", "Sort code: 402715 and acc 41963824 - can you check a payment?", "fixed"),
    ("banker", "Customer's checking account {a} shows an overdraft fee dispute.", "a"),
    ("response", "I've noted the account number {a}; a specialist will contact you.", "a"),
    ("escalation", "Funds frozen on account {a}; customer requests immediate release.", "a"),
    ("customer", "my routing # is {r}", "r"),
    ("customer", "BSB 062-000, account {u}", "bu"),
]
for i in range(24):
    role, template, kinds = ACCOUNT_TEXTS[i % len(ACCOUNT_TEXTS)]
    acct = "".join(rng.choice(string.digits) for _ in range(rng.choice([8, 10, 12])))
    if i % 6 == 5:
        acct = acct[:2] + "-" + acct[2:]
    uk = "".join(rng.choice(string.digits) for _ in range(8))
    routing = aba()
    text = template.format(a=acct, r=routing, u=uk)
    expect = []
    if kinds == "fixed":
        expect = [("account", "402715"), ("account", "41963824")]
    for k in kinds:
        if k == "a":
            expect.append(("account", acct))
        elif k == "r":
            expect.append(("account", routing))
        elif k == "u":
            expect.append(("account", uk))
        elif k == "s":
            expect.insert(0, ("account", "20-00-00"))
        elif k == "b":
            expect.insert(0, ("account", "062-000"))
    add(role, text, expect, kind_id="account")

CVV_TEXTS = [
    "The CVV is {c}, do you need the expiry too?", "cvc: {c}", "security code {c} didn't work online",
    "CVV2 {c} - the shop keeps rejecting it", "Card verification code {c}, is it safe to share it here?",
    "my csc is {c}",
]
for i in range(12):
    code = "".join(rng.choice(string.digits) for _ in range(3 if i % 3 else 4))
    add("customer", CVV_TEXTS[i % len(CVV_TEXTS)].format(c=code), [("cvv", code)])

# --- hard negatives ----------------------------------------------------------------

def neg(role, text, note):
    add(role, text, [], note=note)


for i, (network, pan) in enumerate(PUBLISHED_PANS[:12]):
    bad = luhn_break(pan)
    value = [bad, group(bad, " "), group(bad, "-")][i % 3]
    neg("customer", f"My order number is {value}, where is my parcel?",
        "Luhn-failing order number with a card prefix")
for i in range(12):
    # Luhn-valid, card-like lengths, but no network starts with 1, 7, 8 (except 81-82) or 9.
    prefix = rng.choice(["1", "7", "9", "80", "83", "99"])
    ref = generated_pan(prefix, rng.choice([13, 16, 18]))
    value = ref if i % 2 else group(ref, " ")
    neg(["banker", "customer", "response"][i % 3],
        f"Transaction reference {value} appears twice on the statement.",
        "Luhn-valid reference with no card network prefix")
for i in range(6):
    ref = generated_pan("4", 14) if i % 2 else generated_pan("34", 16)
    neg("banker", f"Case ID {ref} was reopened by the customer.",
        "Luhn-valid but wrong length for its network")
for text in [
    "I paid $1,250.00 on 2024-03-15 but the balance still shows $4,111.11.",
    "The transfer of EUR 12 500,00 left on 15/03/2024 at 14:30.",
    "Why was I charged £35.00 three times (ref 0042) on 03.04.2024?",
    "Limit increase from 5000 to 7500 USD effective 01/07/2024 - is that right?",
    "Interest of 4.75% APR applies after 12 months; minimum payment 25.00.",
    "Wire cut-off is 2:00 p.m. ET; transfers after 14:00 go next business day.",
    "Balance 1 250 000 EUR across 3 accounts, as of 2024-12-31 23:59:59.",
    "Your mortgage of 350,000 over 25 years at 5.1% is 2,067.45 per month.",
    "Statement period 01/02/2024 - 29/02/2024, 18 transactions, total 2,431.18.",
    "ATM withdrawals are limited to 500 per day and 2,000 per week.",
    "I was charged 19.99 on 2024-06-01 and again 19.99 on 2024-06-02.",
    "Fees: 0.5% per FX transaction, max 30 per month, min 1.50.",
    "Between 10 and 20 business days for a card replacement, sometimes 3 - 5 days express.",
    "Timestamp 2024-03-15T14:30:00Z, latency 245 ms, retries 3.",
    "The dispute window is 120 days from 15.03.2024, i.e. until 13.07.2024.",
    "Opening hours 09:00-17:30 Mon-Fri, 10:00-14:00 Sat.",
    "Payment of 1,234,567.89 JPY converted at 161.23 on 2024/04/29 10:15.",
    "Your credit score moved from 712 to 745 after 6 months.",
]:
    neg("customer", text, "amounts, dates and times")
for i in range(12):
    u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    neg(["banker", "classification", "escalation"][i % 3],
        f"Interaction {u} was escalated; see session {uuid.UUID(int=rng.getrandbits(128), version=4)}.",
        "UUIDs of our own records")
for text in [
    "Branch code 0042 handles business accounts in the north region.",
    "Please visit branch 1187 or branch code BR-0192 for cash deposits.",
    "The SWIFT/BIC is NWBKGB2L and the IFSC is HDFC0001234 for that branch.",
    "Branch transit 00123-004 is closed on public holidays.",
    "Sorting office 12-34-56 lost my card letter",
    "Order ORD-2024-118834 shipped; invoice INV-2024-00042 attached.",
    "Ticket 2024-118834 and case 5550123456 are linked to my complaint.",
    "Tracking number 1Z999AA10123456784 shows the card was delivered.",
    "Reference 00012345678 is on the letter you sent me.",
    "My postcode is SW1A 1AA and the ZIP for the other address is 10001.",
    "The app version is 3.14.159 on iOS 17.4.1, build 20240315.",
    "Device IP 192.168.10.25 was flagged, and 10.0.0.1 before that.",
    "Policy number 12-3456789-01 covers card protection.",
    "ISBN 978-3-16-148410-0 is the budgeting book you recommended?",
    "Your one-time passcode expires in 10 minutes; 3 attempts remain.",
    "Loan application 2024/0315/7781 is under review.",
    "Members since 1998, 2 cards, 3 accounts, 1 mortgage.",
    "Call centre wait times were 45 minutes on 12/03 and 12 minutes on 13/03.",
    "Account balance 1,250.00 and account ending 4321 are both shown in the app.",
    "Card ending in 1234 expires 09/27; the replacement ends in 5678.",
    "Customer number CUST-00912837 asked about fees.",
    "@BankSupport replied on Twitter but not to my e-mail.",
    "Employee badge E-7788-2211 approved the override.",
    "Invoice 4521-8890-1123 is unpaid since March.",
    "Serial 2024 0315 1430 on the card reader.",
    "Meeting room 3.14, floor 2, ext 4471.",
    "Reward points: 12 500 pts, next tier at 25 000 pts.",
    "Chargeback code 10.4 and reason code 4837 were applied.",
    "Session lasted 00:14:32 with 27 messages.",
    "The Euro rate was 1.0845 on 2024-03-15 and 1.0912 on 2024-03-22.",
]:
    neg("banker", text, "order numbers, branch codes, IDs and other numbers")
for iban in PUBLISHED_IBANS[:8]:
    neg("customer", f"Is {print_form(broken_iban(iban))} a valid IBAN? The bank says no.",
        "IBAN with a failing mod-97 check")
for text in [
    "The code GB12 3456 is printed on my form, what is it?",
    "Flight LH2024 from DE to GB landed at 14:30.",
    "Model number XR21 3456 7890 ABC on the card reader.",
]:
    neg("customer", text, "letters and digits that are not IBANs")
for value in ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000"]:
    neg("customer", f"The form shows {value}, is that a typo?", "invalid SSN")
for text in [
    "Please call the number on the back of your card.",
    "Our phone lines are open 24/7 for lost or stolen cards.",
    "You can text STOP to unsubscribe from alerts.",
    "Call us about order 12345678 if it does not arrive.",
    "Your security code was sent by SMS; never share it.",
    "The account has 3 holders and 12 standing orders.",
    "The CVV is the three-digit number on the back of your card.",
]:
    neg("response", text, "context words without a number")
for text in [
    "Release 2024.03.15.1430 fixed the statement bug.",
    "Your transfer was split 50/50 and 3-4-5 days later arrived.",
    "Coordinates 51.5074, -0.1278 are where the ATM is.",
    "Between 09-12 and 14-17 the branch is staffed.",
    "Dates 12/03/2024 and 13/03/2024 show duplicate entries.",
]:
    neg("customer", text, "phone-like numbers that are not phones")

# Mixed texts with several kinds.
add("customer",
    "Hi, I'm Jane (jane.doe@example.com, +44 7700 900123). Card 4111 1111 1111 1111 was "
    "used in Spain; please refund to GB82 WEST 1234 5698 7654 32.",
    [("email", "jane.doe@example.com"), ("phone", "+44 7700 900123"),
     ("card", "4111 1111 1111 1111"), ("iban", "GB82 WEST 1234 5698 7654 32")],
    kind_id="mixed")
add("banker",
    "Client SSN 123-45-6789, routing 021000021, account 12345678: confirm the wire of $25,000.00 "
    "sent on 2024-03-15.",
    [("ssn", "123-45-6789"), ("account", "021000021"), ("account", "12345678")],
    kind_id="mixed")
add("escalation",
    "Fraud suspected: customer shared card 5555-5555-5555-4444 with CVV 737 and phone "
    "(212) 555-0123 with a caller posing as staff on 12/03/2024.",
    [("card", "5555-5555-5555-4444"), ("cvv", "737"), ("phone", "(212) 555-0123")],
    kind_id="mixed")
add("response",
    "I have updated your e-mail to o'brien@example.ie and your mobile to 07700 900456. "
    "Your reference is ORD-2024-118834.",
    [("email", "o'brien@example.ie"), ("phone", "07700 900456")], kind_id="mixed")
add("classification",
    "human_only: user pasted IBAN DE89370400440532013000 and card 378282246310005 "
    "asking to move 5,000 EUR; interaction 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b.",
    [("iban", "DE89370400440532013000"), ("card", "378282246310005")], kind_id="mixed")

# Held out: written after the detectors were tuned on everything above, and kept
# whatever the engine makes of them, so the figures are not only the tuned ones.
HELD_OUT = "held out: written after the detectors, not tuned on"
for role, text, expect in [
    ("customer", "my card number is 4111 1111 1111 1111.", [("card", "4111 1111 1111 1111")]),
    ("customer", "Phone: +1.212.555.0123 (mobile)", [("phone", "+1.212.555.0123")]),
    ("customer", "reach me on +44 7911 123456 or first.last@example.museum",
     [("phone", "+44 7911 123456"), ("email", "first.last@example.museum")]),
    ("banker", "Applicant SSN: 078-05-1120, DOB 04/12/1961.", [("ssn", "078-05-1120")]),
    ("customer", "Acc/No 12345678 at the Leeds branch", [("account", "12345678")]),
    ("customer", "A/C 12345678 sort code 40-47-84", [("account", "12345678"), ("account", "40-47-84")]),
    ("customer", "Phone: (+44) 20 7946 0958", [("phone", "(+44) 20 7946 0958")]),
    ("customer", "Ref 0123 456 7890 is on the letter you sent me.", []),
    ("banker", "Card reader S/N 0034 5678 9012 keeps rebooting.", []),
    ("customer", "Quote 2125550123 when you call back.", []),
    ("customer", "I only have the first 12 digits: 4111 1111 1111", []),
    ("customer", "acct balance 12345678.90 looks wrong", []),
    ("customer", "My phone bill of 1234567 won was paid twice.", []),
    ("banker", "Merchant ID 4929 3815 6370 12 disputes the chargeback.", []),
    ("response", "Use app version 10.2.3 or later; older builds cannot show statements.", []),
    ("customer", "Transfer EUR 2.500,00 to DE75 5121 0800 1245 1261 99 please",
     [("iban", "DE75 5121 0800 1245 1261 99")]),
    ("customer", "cvv is 12? the card shows only two digits", []),
    ("customer", "Send it to ana.souza@exemplo.com.br, or call 11 98765-4321",
     [("email", "ana.souza@exemplo.com.br"), ("phone", "11 98765-4321")]),
]:
    add(role, text, expect, note=HELD_OUT, kind_id="heldout")

# Ids, in order of appearance, by group.
counters = {}
for row in rows:
    g = row.pop("_group")
    counters[g] = counters.get(g, 0) + 1
    row["id"] = "%s-%03d" % (g, counters[g])

with OUT.open("w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows), "texts;", sum(len(r["expect"]) for r in rows), "expected values;",
      sum(1 for r in rows if not r["expect"]), "negatives")
