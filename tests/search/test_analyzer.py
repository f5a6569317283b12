from server.search import analyzer, query


def test_words_are_folded_stemmed_and_stop_words_dropped():
    assert analyzer.word_terms("The Runner was RUNNING to the Café") == ["runner", "run", "cafe"]


def test_index_fields_keep_repeats_and_add_tag_and_mention_terms():
    fields = analyzer.index_fields("Python python #Python @Bob!", ["python"], ["bob"])
    assert fields["terms"] == ["python", "python", "python", "bob", "#python", "@bob"]
    assert fields["search_text"] == "python python python bob"


def test_query_parser_understands_phrases_exclusions_tags_and_mentions():
    q = query.parse('Running "New  York" -rain #Travel @Alice the -"big apple"')
    assert q.terms == ["run", "new", "york", "#travel", "@alice"]
    assert q.phrases == ["new york"]
    assert q.excluded == ["rain"]
    assert q.excluded_phrases == ["big apple"]
    assert q.tags == ["travel"] and q.mentions == ["alice"]


def test_only_stop_words_is_an_empty_query():
    assert query.parse("the and of").empty
    assert query.keywords(["-rain"]).empty
    assert not query.keywords(["the", "runs"]).empty


def test_structured_keywords_and_tags_use_the_same_analyzer():
    q = query.keywords(["Runs", "new york", "-Rain"], tags=["#Travel"])
    assert q.terms == ["run", "new", "york", "#travel"]
    assert q.phrases == ["new york"] and q.excluded == ["rain"]
