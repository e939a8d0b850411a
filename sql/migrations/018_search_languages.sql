-- Full-text search in each text's language: a provision text's words are kept stemmed
-- by the PostgreSQL configuration of the language it is written in ('english',
-- 'german', 'italian', 'french'; 'simple', unstemmed, for Polish, which PostgreSQL has
-- no dictionary for, and for a text whose language is not clear), so that a search for
-- "cookie" finds "cookies". The language is told by the frequent short words of each
-- (as atlas_crawl/clauses/classify.py tells them), in an immutable function: the words
-- are a generated column, the same for a text whoever wrote it.
CREATE FUNCTION text_search_config(body text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH words AS (
        SELECT w FROM regexp_split_to_table(lower(left(body, 20000)), '[^[:alnum:]]+') AS w),
    scores AS (
        SELECT lang, config, (SELECT count(*) FROM words WHERE w = ANY(stop)) AS hits
        FROM (VALUES
            ('en', 'english'::regconfig, '{the,of,and,to,in,is,you,your,we,our,or,for,that,with,by,this,be,are}'::text[]),
            ('de', 'german'::regconfig, '{der,die,und,das,zu,den,von,mit,sie,ist,nicht,ein,eine,für,auf,oder,wir,ihre}'::text[]),
            ('it', 'italian'::regconfig, '{il,di,e,la,che,per,un,una,non,dei,delle,con,del,della,sono,le,gli,alle,al,nel,da,è,si,ai,agli,sua,suo,questi,questo}'::text[]),
            ('pl', 'simple'::regconfig, '{i,w,na,z,do,się,że,nie,jest,lub,oraz,przez,dla,od,jak,te,ich,a,prawa,wszelkie}'::text[]),
            ('fr', 'french'::regconfig, '{le,la,les,de,des,et,un,une,du,en,pour,que,vous,nous,est,dans,sur}'::text[])
        ) AS l(lang, config, stop)),
    ranked AS (
        SELECT config, hits, lead(hits) OVER (ORDER BY hits DESC) AS runner_up
        FROM scores ORDER BY hits DESC LIMIT 1)
    SELECT CASE WHEN hits >= 1 AND hits > coalesce(runner_up, 0) THEN config
                ELSE 'simple'::regconfig END
    FROM ranked
$$;

-- The readers' view over the table (remade after every upgrade by views.sql) holds the
-- column: it goes first.
DROP VIEW IF EXISTS atlas_read.provision_texts;
DROP INDEX provision_texts_words;
ALTER TABLE provision_texts DROP COLUMN words;
ALTER TABLE provision_texts
    ADD COLUMN search_config regconfig GENERATED ALWAYS AS (text_search_config(text)) STORED,
    ADD COLUMN words tsvector
        GENERATED ALWAYS AS (to_tsvector(text_search_config(text), text)) STORED;
CREATE INDEX provision_texts_words ON provision_texts USING gin (words);
