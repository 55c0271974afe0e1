-- Database-side PII guard: masks card numbers, IBANs and e-mail addresses in the
-- free-text columns of every row written, whoever writes it (the library, the REST API
-- with either key, the spec's Python wrapper, COPY, the SQL editor).
--
-- BEFORE INSERT OR UPDATE triggers on public.interactions (user_query, response_text,
-- classification_reason, escalation_reason) and public.escalations (escalation_reason)
-- apply the same rules and tokens as the Rust engine (crate assistant-db, module
-- `redact`), which runs first for rows the library writes:
--   card number  13-19 digits, single spaces or dashes between groups, a known network's
--                prefix and length, Luhn-valid            -> [CARD ••••1234]
--   IBAN         a known country's length, mod-97 valid,
--                with or without single spaces            -> [IBAN GB••…1234]
--   e-mail       the engine's address pattern              -> [EMAIL]
-- Phone numbers, SSNs, account numbers, CVVs and user rules are masked by the library
-- only, and the `hash` policy is the library's: it needs a key the database never sees.
-- A row the library already redacted passes through unchanged (tokens hold nothing
-- these rules match), and so does any row written twice. The library's `off` policy
-- does not reach here: cards, IBANs and e-mail addresses are masked whatever the
-- writer's settings (`ALTER TABLE ... DISABLE TRIGGER redaction_guard` turns it off).
--
-- The functions live in their own schema, `redaction`, which the REST API does not
-- expose and which no API role may use; the trigger functions are SECURITY DEFINER so
-- that they run whichever role inserts, with a pinned search_path and qualified names.
-- The spec's tables, columns, indexes and constraints are not changed. Needs
-- PostgreSQL 15 or later (regexp_instr). Idempotent: it may be pasted into the Supabase
-- SQL editor any number of times.

DO $check$
BEGIN
    IF pg_catalog.current_setting('server_version_num')::integer < 150000 THEN
        RAISE EXCEPTION 'the redaction guard needs PostgreSQL 15 or later, this is %',
            pg_catalog.current_setting('server_version');
    END IF;
END
$check$;

CREATE SCHEMA IF NOT EXISTS redaction;
REVOKE ALL ON SCHEMA redaction FROM PUBLIC;
COMMENT ON SCHEMA redaction IS
    'The PII guard''s functions (migration 007); not exposed through the REST API.';

-- The Luhn (mod 10) check over a string of ASCII digits.
CREATE OR REPLACE FUNCTION redaction.luhn_ok(digits text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := pg_catalog.length(digits);
    total integer := 0;
    d integer;
BEGIN
    IF n = 0 OR digits !~ '^[0-9]+$' THEN
        RETURN false;
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        d := pg_catalog.ascii(pg_catalog.substr(digits, n - i, 1)) - 48;
        IF i % 2 = 1 THEN
            d := d * 2;
            IF d > 9 THEN
                d := d - 9;
            END IF;
        END IF;
        total := total + d;
    END LOOP;
    RETURN total % 10 = 0;
END;
$$;

-- True when the digits have a known card network's prefix and length (the same table as
-- the Rust engine's redact::detect::card; the ranges do not overlap).
CREATE OR REPLACE FUNCTION redaction.card_network_ok(digits text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_catalog.length(digits) NOT BETWEEN 13 AND 19 OR digits !~ '^[0-9]+$' THEN false
        -- Visa
        WHEN pg_catalog.left(digits, 1) = '4' THEN pg_catalog.length(digits) IN (13, 16, 19)
        -- Mastercard
        WHEN pg_catalog.left(digits, 4)::integer BETWEEN 2221 AND 2720
            OR pg_catalog.left(digits, 2)::integer BETWEEN 51 AND 55
            THEN pg_catalog.length(digits) = 16
        -- Mir
        WHEN pg_catalog.left(digits, 4)::integer BETWEEN 2200 AND 2204
            THEN pg_catalog.length(digits) >= 16
        -- American Express
        WHEN pg_catalog.left(digits, 2) IN ('34', '37') THEN pg_catalog.length(digits) = 15
        -- Diners Club
        WHEN pg_catalog.left(digits, 3)::integer BETWEEN 300 AND 305
            OR pg_catalog.left(digits, 4) = '3095'
            OR pg_catalog.left(digits, 2) IN ('36', '38', '39')
            THEN pg_catalog.length(digits) >= 14
        -- JCB
        WHEN pg_catalog.left(digits, 4)::integer BETWEEN 3528 AND 3589
            THEN pg_catalog.length(digits) >= 16
        -- Maestro and the 6-series (Discover, UnionPay, RuPay, Maestro, Troy)
        WHEN pg_catalog.left(digits, 2) IN ('50', '56', '57', '58')
            OR pg_catalog.left(digits, 1) = '6'
            THEN true
        -- UnionPay and RuPay 8-series
        WHEN pg_catalog.left(digits, 2) IN ('81', '82') THEN pg_catalog.length(digits) >= 16
        ELSE false
    END;
$$;

-- The IBAN length of a country (upper-case code), NULL for a country without IBANs.
CREATE OR REPLACE FUNCTION redaction.iban_length(country text)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.len FROM (VALUES
        ('AD', 24), ('AE', 23), ('AL', 28), ('AO', 25), ('AT', 20), ('AZ', 28), ('BA', 20),
        ('BE', 16), ('BF', 28), ('BG', 22), ('BH', 22), ('BI', 27), ('BJ', 28), ('BR', 29),
        ('BY', 28), ('CF', 27), ('CG', 27), ('CH', 21), ('CI', 28), ('CM', 27), ('CR', 22),
        ('CV', 25), ('CY', 28), ('CZ', 24), ('DE', 22), ('DJ', 27), ('DK', 18), ('DO', 28),
        ('DZ', 26), ('EE', 20), ('EG', 29), ('ES', 24), ('FI', 18), ('FK', 18), ('FO', 18),
        ('FR', 27), ('GA', 27), ('GB', 22), ('GE', 22), ('GI', 23), ('GL', 18), ('GQ', 27),
        ('GR', 27), ('GT', 28), ('GW', 25), ('HN', 28), ('HR', 21), ('HU', 28), ('IE', 22),
        ('IL', 23), ('IQ', 23), ('IR', 26), ('IS', 26), ('IT', 27), ('JO', 30), ('KM', 27),
        ('KW', 30), ('KZ', 20), ('LB', 28), ('LC', 32), ('LI', 21), ('LT', 20), ('LU', 20),
        ('LV', 21), ('LY', 25), ('MA', 28), ('MC', 27), ('MD', 24), ('ME', 22), ('MG', 27),
        ('MK', 19), ('ML', 28), ('MN', 20), ('MR', 27), ('MT', 31), ('MU', 30), ('MZ', 25),
        ('NE', 28), ('NI', 28), ('NL', 18), ('NO', 15), ('OM', 23), ('PK', 24), ('PL', 28),
        ('PS', 29), ('PT', 25), ('QA', 29), ('RO', 24), ('RS', 22), ('RU', 33), ('SA', 24),
        ('SC', 31), ('SD', 18), ('SE', 24), ('SI', 19), ('SK', 24), ('SM', 27), ('SN', 28),
        ('SO', 23), ('ST', 25), ('SV', 28), ('TD', 27), ('TG', 28), ('TL', 23), ('TN', 24),
        ('TR', 26), ('UA', 29), ('VA', 22), ('VG', 24), ('XK', 20), ('YE', 30)
    ) AS t(code, len)
    WHERE t.code = country;
$$;

-- The ISO 13616 mod-97 check over an IBAN in electronic form (upper case, no spaces).
CREATE OR REPLACE FUNCTION redaction.iban_mod97_ok(electronic text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    moved text := pg_catalog.substr(electronic, 5) || pg_catalog.left(electronic, 4);
    remainder integer := 0;
    c integer;
BEGIN
    IF pg_catalog.length(electronic) < 5 THEN
        RETURN false;
    END IF;
    FOR i IN 1 .. pg_catalog.length(moved) LOOP
        c := pg_catalog.ascii(pg_catalog.substr(moved, i, 1));
        IF c BETWEEN 48 AND 57 THEN
            remainder := (remainder * 10 + c - 48) % 97;
        ELSIF c BETWEEN 65 AND 90 THEN
            remainder := (remainder * 100 + c - 55) % 97;
        ELSE
            RETURN false;
        END IF;
    END LOOP;
    RETURN remainder = 1;
END;
$$;

-- Where an IBAN or a card number may start: two letters and two digits followed by
-- eleven more letters or digits, or thirteen digits with single spaces or dashes.
CREATE OR REPLACE FUNCTION redaction.candidate_pattern()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '[A-Za-z]{2}[0-9]{2}( ?[A-Za-z0-9]){11}|[0-9]([ -]?[0-9]){12}'::text;
$$;

-- True when the text may hold a card number, an IBAN or an e-mail address: one scan
-- that lets most rows through untouched. It has no SET clause so that PostgreSQL inlines
-- it into the trigger, which is what makes it cheap; every name in it, operators
-- included, is schema-qualified, so no search_path can redirect it.
CREATE OR REPLACE FUNCTION redaction.needs_masking(t text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.strpos(t, '@') OPERATOR(pg_catalog.>) 0
        OR t OPERATOR(pg_catalog.~) redaction.candidate_pattern();
$$;

-- The text with every card number, IBAN and e-mail address masked. E-mail addresses
-- first, then one left-to-right scan for IBANs and runs of digits, as the Rust engine
-- does: an IBAN ends at its country's length, and within a run of digit groups the
-- longest valid card from each group wins.
CREATE OR REPLACE FUNCTION redaction.mask_text(t text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    email_re constant text := '[A-Za-z0-9_%+\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF-][A-Za-z0-9._%+''!#$&*/=?^`{|}~\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF-]*@(?:[A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF](?:[A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF-]*[A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF])?\.)+[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF][A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF-]*[A-Za-z0-9\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF]';
    candidate_re constant text := redaction.candidate_pattern();
    n integer;
    out text := '';
    copied integer := 1;  -- the first character not yet copied to out
    pos integer := 1;     -- where the next search starts
    s integer;
    i integer;
    c text;
    wanted integer;
    electronic text;
    group_start integer[];
    group_digits text[];
    ng integer;
    first_group integer;
    best integer;
    best_digits text;
    digits text;
BEGIN
    IF t IS NULL OR NOT redaction.needs_masking(t) THEN
        RETURN t;
    END IF;
    IF pg_catalog.strpos(t, '@') > 0 THEN
        t := pg_catalog.regexp_replace(t, email_re, '[EMAIL]', 'g');
    END IF;
    IF t !~ candidate_re THEN
        RETURN t;
    END IF;
    n := pg_catalog.length(t);
    LOOP
        s := pg_catalog.regexp_instr(t, candidate_re, pos);
        EXIT WHEN s = 0;
        c := pg_catalog.substr(t, s, 1);
        IF c ~ '[A-Za-z]' THEN
            -- An IBAN: at a word start, the country's length in letters and digits with
            -- single spaces after the first four, and no letter or digit right after.
            pos := s + 1;
            CONTINUE WHEN s > 1 AND pg_catalog.substr(t, s - 1, 1) ~ '[A-Za-z0-9_]';
            wanted := redaction.iban_length(pg_catalog.upper(pg_catalog.substr(t, s, 2)));
            CONTINUE WHEN wanted IS NULL;
            electronic := '';
            i := s;
            WHILE pg_catalog.length(electronic) < wanted AND i <= n LOOP
                c := pg_catalog.substr(t, i, 1);
                IF c = ' ' AND pg_catalog.length(electronic) >= 4 THEN
                    i := i + 1;
                    c := pg_catalog.substr(t, i, 1);
                END IF;
                EXIT WHEN c !~ '^[A-Za-z0-9]$';
                electronic := electronic || pg_catalog.upper(c);
                i := i + 1;
            END LOOP;
            CONTINUE WHEN pg_catalog.length(electronic) < wanted
                OR pg_catalog.substr(t, i, 1) ~ '^[A-Za-z0-9]$'
                OR NOT redaction.iban_mod97_ok(electronic);
            out := out || pg_catalog.substr(t, copied, s - copied)
                || '[IBAN ' || pg_catalog.left(electronic, 2) || '••…'
                || pg_catalog.right(electronic, 4) || ']';
            copied := i;
            pos := i;
        ELSE
            -- A run of digit groups joined by single spaces or dashes. Its first group
            -- cannot start a card when it is glued to a letter, a digit, _ or a +.
            group_start := '{}';
            group_digits := '{}';
            i := s;
            LOOP
                digits := pg_catalog.substring(pg_catalog.substr(t, i), '^[0-9]+');
                group_start := group_start || i;
                group_digits := group_digits || digits;
                i := i + pg_catalog.length(digits);
                EXIT WHEN pg_catalog.substr(t, i, 2) !~ '^[ -][0-9]$';
                i := i + 1;
            END LOOP;
            ng := pg_catalog.array_length(group_digits, 1);
            first_group := 1;
            IF s > 1 AND pg_catalog.substr(t, s - 1, 1) ~ '[A-Za-z0-9_+]' THEN
                first_group := 2;
            END IF;
            WHILE first_group <= ng LOOP
                best := 0;
                digits := '';
                FOR j IN first_group .. ng LOOP
                    digits := digits || group_digits[j];
                    EXIT WHEN pg_catalog.length(digits) > 19;
                    IF pg_catalog.length(digits) >= 13
                        AND redaction.card_network_ok(digits)
                        AND redaction.luhn_ok(digits) THEN
                        best := j;
                        best_digits := digits;
                    END IF;
                END LOOP;
                IF best > 0 THEN
                    out := out
                        || pg_catalog.substr(t, copied, group_start[first_group] - copied)
                        || '[CARD ••••' || pg_catalog.right(best_digits, 4) || ']';
                    copied := group_start[best] + pg_catalog.length(group_digits[best]);
                    first_group := best + 1;
                ELSE
                    first_group := first_group + 1;
                END IF;
            END LOOP;
            pos := i;
        END IF;
    END LOOP;
    RETURN out || pg_catalog.substr(t, copied);
END;
$fn$;

COMMENT ON FUNCTION redaction.mask_text(text) IS
    'The text with card numbers, IBANs and e-mail addresses masked as the library masks them.';

CREATE OR REPLACE FUNCTION redaction.mask_interaction()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- One scan over all four columns (a new line joins them: no candidate spans it)
    -- lets a row without candidates through without a call per column.
    IF NOT redaction.needs_masking(pg_catalog.concat_ws(E'\n', NEW.user_query,
            NEW.response_text, NEW.classification_reason, NEW.escalation_reason)) THEN
        RETURN NEW;
    END IF;
    NEW.user_query := redaction.mask_text(NEW.user_query);
    NEW.response_text := redaction.mask_text(NEW.response_text);
    NEW.classification_reason := redaction.mask_text(NEW.classification_reason);
    NEW.escalation_reason := redaction.mask_text(NEW.escalation_reason);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION redaction.mask_escalation()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.escalation_reason := redaction.mask_text(NEW.escalation_reason);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER redaction_guard
    BEFORE INSERT OR UPDATE ON public.interactions
    FOR EACH ROW EXECUTE FUNCTION redaction.mask_interaction();

CREATE OR REPLACE TRIGGER redaction_guard
    BEFORE INSERT OR UPDATE ON public.escalations
    FOR EACH ROW EXECUTE FUNCTION redaction.mask_escalation();

-- Triggers fire whatever EXECUTE says; nobody else needs these functions. Supabase's
-- API roles get explicit grants on new functions, so they are named as well.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA redaction FROM PUBLIC;
DO $revoke$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA redaction FROM %I', r);
            EXECUTE pg_catalog.format(
                'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA redaction FROM %I', r);
        END IF;
    END LOOP;
END
$revoke$;
