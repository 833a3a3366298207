def test_scorer_cases_within_tolerance(score):
    rows = score.score_all()
    assert len(rows) == len(score.cases_module.CASES)
    for row in rows:
        assert row.within, f"case {row.case.case_id}: estimate {row.estimate:.1f}, error {row.error}"


def test_scorer_picks_do_not_oom(score):
    for row in score.score_all():
        assert row.pick_ok is not False, f"case {row.case.case_id}: {row.pick}"


def test_naive_baseline_picks_an_oom(score):
    rows = {row.case.case_id: row for row in score.score_all()}
    # 1× the weights sends Qwen-7B full fine-tuning (74 GB per GPU) to an L40S.
    assert rows["5"].naive_pick == "NVIDIA L40S"
    assert rows["5"].naive_pick_ok is False


def test_scorer_table_lists_every_case(score):
    text = score.table(score.score_all())
    for case in score.cases_module.CASES:
        assert f"| {case.case_id} |" in text
