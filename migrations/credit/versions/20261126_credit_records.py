"""credit records

Revision ID: e762b185bfe3
Revises: b92bfa82e82d
Create Date: 2026-11-26 01:38:51.027627+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e762b185bfe3"
down_revision: str | None = "b92bfa82e82d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The public rules the catalog starts from (科研失信行为调查处理规则 2022; 科技活动评审请托行为处理规定
# 2020; 科学技术活动违规行为调查处理规定; provincial credit rules). Program managers revise them later
# as new versions; this seed is version 1 of each.
RES = "researcher"
ORG = "organization"
AGY = "agency"
EXP = "expert"
MISCONDUCT = "《科研失信行为调查处理规则》(2022)"
VIOLATIONS = "《科学技术活动违规行为调查处理规定》"
LOBBYING = "《科技活动评审请托行为处理规定》(2020)"
VOUCHERS = "省科技创新券管理办法"
SEED_RULES = [
    # code, zh, en, applies_to, tier, effect, validity months, restrictions, years, permanent,
    # repairable, repair after months, legal basis
    (
        "FABRICATION",
        "编造、篡改研究数据或研究结论",
        "Fabricating or falsifying research data or conclusions",
        [RES, ORG],
        "severe",
        -30,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        MISCONDUCT + " 第二条、第二十一条",
    ),
    (
        "PLAGIARISM",
        "抄袭、剽窃、侵占他人研究成果",
        "Plagiarising or appropriating others' research",
        [RES],
        "severe",
        -30,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        MISCONDUCT + " 第二条",
    ),
    (
        "GHOSTWRITING",
        "代写、买卖论文或项目申报材料",
        "Ghost-writing or trading papers or application materials",
        [RES, AGY],
        "severe",
        -30,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        MISCONDUCT + " 第二条",
    ),
    (
        "APPLICATION_FRAUD",
        "以欺骗手段获取科技计划项目立项",
        "Obtaining a project by fraud",
        [RES, ORG],
        "severe",
        -35,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        VIOLATIONS + " 第十一条",
    ),
    (
        "FALSE_MATERIALS",
        "申报材料与事实不符，未造成严重后果",
        "Application materials inconsistent with facts, without serious harm",
        [RES, ORG],
        "general",
        -10,
        24,
        [],
        None,
        False,
        True,
        6,
        MISCONDUCT + " 第二条",
    ),
    (
        "DUPLICATE_APPLICATION",
        "同一项目重复申报或多头申报",
        "Duplicate applications for the same work",
        [RES, ORG],
        "general",
        -8,
        24,
        ["apply"],
        1,
        False,
        True,
        12,
        VIOLATIONS + " 第十一条",
    ),
    (
        "FUNDS_MISUSE",
        "截留、挪用、侵占科研经费",
        "Withholding, diverting or embezzling research funds",
        [RES, ORG],
        "severe",
        -40,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        VIOLATIONS + " 第十二条",
    ),
    (
        "FUNDS_IRREGULAR",
        "违规使用科研经费，情节较轻",
        "Irregular use of research funds, minor in degree",
        [RES, ORG],
        "general",
        -10,
        24,
        [],
        None,
        False,
        True,
        6,
        VIOLATIONS + " 第十二条",
    ),
    (
        "LATE_REPORT",
        "未按时提交项目进展报告，已在限期内补正",
        "Progress report late, corrected within the period given",
        [RES, ORG],
        "minor",
        -2,
        12,
        [],
        None,
        False,
        True,
        0,
        "省科技计划项目管理办法 项目实施管理条款",
    ),
    (
        "MISSING_REPORT",
        "无正当理由不提交项目报告",
        "Project report not submitted without good reason",
        [RES, ORG],
        "general",
        -8,
        24,
        [],
        None,
        False,
        True,
        6,
        "省科技计划项目管理办法 项目实施管理条款",
    ),
    (
        "FAILED_ACCEPTANCE",
        "项目验收不通过（非不可抗力原因）",
        "Project failed acceptance (not for force majeure)",
        [RES, ORG],
        "general",
        -10,
        36,
        ["apply"],
        1,
        False,
        True,
        12,
        "省科技计划项目管理办法 验收条款",
    ),
    (
        "TERMINATED_AT_FAULT",
        "因主观原因导致项目被终止",
        "Project terminated through the undertaker's fault",
        [RES, ORG],
        "serious",
        -15,
        36,
        ["apply"],
        3,
        False,
        True,
        24,
        VIOLATIONS + " 第十一条",
    ),
    (
        "LOBBYING",
        "在评审中请托、说情（首次）",
        "Lobbying reviewers (请托), first time",
        [RES, ORG, AGY],
        "serious",
        -15,
        36,
        ["apply"],
        3,
        False,
        True,
        24,
        LOBBYING + " 第七条",
    ),
    (
        "LOBBYING_REPEATED",
        "多次请托或请托造成严重后果",
        "Repeated lobbying, or lobbying with serious consequences",
        [RES, ORG, AGY],
        "severe",
        -30,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        LOBBYING + " 第七条",
    ),
    (
        "EXPERT_UNDECLARED_CONFLICT",
        "评审专家未按规定申明利益冲突或回避",
        "Expert failed to declare a conflict of interest",
        [EXP],
        "serious",
        -15,
        36,
        ["review"],
        3,
        False,
        True,
        24,
        LOBBYING + " 第八条",
    ),
    (
        "EXPERT_LEAK",
        "评审专家泄露评审信息或评审结果",
        "Expert leaked review information or results",
        [EXP],
        "severe",
        -30,
        60,
        ["review"],
        5,
        False,
        False,
        0,
        LOBBYING + " 第八条",
    ),
    (
        "EXPERT_BRIBERY",
        "评审专家接受请托、收受财物",
        "Expert accepted lobbying or gifts",
        [EXP],
        "especially_severe",
        -50,
        120,
        ["review"],
        None,
        True,
        False,
        0,
        LOBBYING + " 第八条",
    ),
    (
        "EXPERT_LATE_REVIEW",
        "评审专家无故逾期未完成评审",
        "Expert missed the review deadline without reason",
        [EXP],
        "minor",
        -2,
        12,
        [],
        None,
        False,
        True,
        0,
        "省科技专家库管理办法",
    ),
    (
        "AGENCY_FALSE_REPORT",
        "中介机构出具虚假评估、审计报告",
        "Agency issued a false evaluation or audit report",
        [AGY],
        "severe",
        -30,
        60,
        ["apply"],
        5,
        False,
        False,
        0,
        VIOLATIONS + " 第十四条",
    ),
    (
        "VOUCHER_FRAUD",
        "虚构交易、套取科技创新券资金",
        "Fictitious transactions to obtain innovation-voucher money",
        [ORG, AGY],
        "severe",
        -35,
        60,
        ["voucher", "apply"],
        5,
        False,
        False,
        0,
        VOUCHERS + " 监督管理条款",
    ),
    (
        "VOUCHER_RELATED_PARTY",
        "在关联方之间使用科技创新券",
        "Voucher used between related parties",
        [ORG],
        "general",
        -10,
        24,
        ["voucher"],
        1,
        False,
        True,
        12,
        VOUCHERS + " 服务机构管理条款",
    ),
    (
        "MISCONDUCT_ESPECIALLY_SEVERE",
        "情节特别严重的科研失信行为（终身取消资格）",
        "Especially severe research misconduct (lifelong exclusion)",
        [RES, ORG],
        "especially_severe",
        -60,
        600,
        ["apply", "review"],
        None,
        True,
        False,
        0,
        MISCONDUCT + " 第二十一条",
    ),
    (
        "EXCELLENT_ACCEPTANCE",
        "项目验收结论为优秀",
        "Project accepted with the grade excellent",
        [RES, ORG],
        "positive",
        5,
        36,
        [],
        None,
        False,
        True,
        0,
        "省科技计划项目管理办法 验收条款",
    ),
    (
        "SCIENCE_AWARD",
        "获得省部级以上科学技术奖励",
        "Provincial or national science and technology award",
        [RES, ORG],
        "positive",
        5,
        36,
        [],
        None,
        False,
        True,
        0,
        "省科学技术奖励办法",
    ),
    (
        "EXPERT_EXEMPLARY_REVIEW",
        "评审专家按时、高质量完成评审",
        "Expert completed reviews on time and well",
        [EXP],
        "positive",
        2,
        12,
        [],
        None,
        False,
        True,
        0,
        "省科技专家库管理办法",
    ),
]


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "query_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("record_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_log")),
        schema="credit",
    )
    op.create_index(
        op.f("ix_query_log_actor"), "query_log", ["actor"], unique=False, schema="credit"
    )
    op.create_table(
        "rules",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("description_zh", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("applies_to", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("score_effect", sa.Integer(), nullable=False),
        sa.Column("validity_months", sa.Integer(), nullable=False),
        sa.Column("restrictions", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("restriction_years", sa.Integer(), nullable=True),
        sa.Column("restriction_permanent", sa.Boolean(), nullable=False),
        sa.Column("repairable", sa.Boolean(), nullable=False),
        sa.Column("repair_after_months", sa.Integer(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(tier = 'positive') = (score_effect > 0)",
            name=op.f("ck_rules_positive_rules_raise_the_score"),
        ),
        sa.CheckConstraint(
            "tier IN ('positive', 'minor', 'general', 'serious', 'severe', 'especially_severe')",
            name=op.f("ck_rules_tier"),
        ),
        sa.CheckConstraint(
            "restriction_years IS NULL OR restriction_years > 0", name=op.f("ck_rules_years")
        ),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_rules")),
        schema="credit",
    )
    op.create_index(
        op.f("ix_rules_code"),
        "rules",
        ["code"],
        unique=True,
        schema="credit",
        postgresql_where=sa.text("is_current"),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("gateway_org_id", sa.Uuid(), nullable=True),
        sa.Column("gateway_user_id", sa.Uuid(), nullable=True),
        sa.Column("national_id_hash", sa.String(length=64), nullable=True),
        sa.Column("national_id_masked", sa.String(length=18), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'person') = (credit_code IS NULL)",
            name=op.f("ck_subjects_credit_code_for_units_only"),
        ),
        sa.CheckConstraint(
            "kind IN ('organization', 'agency', 'person')", name=op.f("ck_subjects_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_subjects_credit_code")),
        sa.UniqueConstraint("gateway_org_id", name=op.f("uq_subjects_gateway_org_id")),
        sa.UniqueConstraint("gateway_user_id", name=op.f("uq_subjects_gateway_user_id")),
        sa.UniqueConstraint("national_id_hash", name=op.f("uq_subjects_national_id_hash")),
        schema="credit",
    )
    op.create_table(
        "rating_states",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("next_change", sa.Date(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["credit.subjects.id"],
            name=op.f("fk_rating_states_subject_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_rating_states")),
        schema="credit",
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("capacity", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("score_effect", sa.Integer(), nullable=False),
        sa.Column("restrictions", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("handling_unit", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("restriction_until", sa.Date(), nullable=True),
        sa.Column("restriction_permanent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("objection_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repaired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "capacity IN ('organization', 'agency', 'researcher', 'expert')",
            name=op.f("ck_records_capacity"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'notified', 'objected', 'confirmed', 'appealed', 'withdrawn', 'repaired')",
            name=op.f("ck_records_status"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_code", "rule_version"],
            ["credit.rules.code", "credit.rules.version"],
            name=op.f("fk_records_rule_code_rule_version_rules"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["credit.subjects.id"], name=op.f("fk_records_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["credit.subjects.id"], name=op.f("fk_records_unit_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint(
            "source_event_id", "subject_id", name=op.f("uq_records_source_event_id_subject_id")
        ),
        schema="credit",
    )
    op.create_index(
        op.f("ix_records_status_tier"), "records", ["status", "tier"], unique=False, schema="credit"
    )
    op.create_index(
        op.f("ix_records_subject_id_effective_from"),
        "records",
        ["subject_id", "effective_from"],
        unique=False,
        schema="credit",
    )
    op.create_index(
        op.f("ix_records_unit_id"), "records", ["unit_id"], unique=False, schema="credit"
    )
    op.create_table(
        "subject_links",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("relation", sa.String(length=30), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "relation IN ('employed_by', 'legal_representative_of')",
            name=op.f("ck_subject_links_relation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["credit.subjects.id"], name=op.f("fk_subject_links_person_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["credit.subjects.id"], name=op.f("fk_subject_links_unit_id_subjects")
        ),
        sa.PrimaryKeyConstraint("person_id", "unit_id", "relation", name=op.f("pk_subject_links")),
        schema="credit",
    )
    op.create_table(
        "record_transitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["credit.records.id"],
            name=op.f("fk_record_transitions_record_id_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_transitions")),
        schema="credit",
    )
    op.create_index(
        op.f("ix_record_transitions_record_id"),
        "record_transitions",
        ["record_id"],
        unique=False,
        schema="credit",
    )
    # ### end Alembic commands ###
    op.create_index(
        "ix_rating_states_next_change",
        "rating_states",
        ["next_change"],
        schema="credit",
        postgresql_where=sa.text("next_change IS NOT NULL"),
    )
    rules = sa.table(
        "rules",
        sa.column("code"),
        sa.column("version"),
        sa.column("is_current"),
        sa.column("description_zh"),
        sa.column("description_en"),
        sa.column("applies_to", postgresql.ARRAY(sa.String())),
        sa.column("tier"),
        sa.column("score_effect"),
        sa.column("validity_months"),
        sa.column("restrictions", postgresql.ARRAY(sa.String())),
        sa.column("restriction_years"),
        sa.column("restriction_permanent"),
        sa.column("repairable"),
        sa.column("repair_after_months"),
        sa.column("legal_basis"),
        sa.column("created_by"),
        schema="credit",
    )
    names = [
        "code",
        "description_zh",
        "description_en",
        "applies_to",
        "tier",
        "score_effect",
        "validity_months",
        "restrictions",
        "restriction_years",
        "restriction_permanent",
        "repairable",
        "repair_after_months",
        "legal_basis",
    ]
    op.bulk_insert(
        rules,
        [
            dict(zip(names, row, strict=True), version=1, is_current=True, created_by="seed")
            for row in SEED_RULES
        ],
    )
    op.execute(
        "CREATE FUNCTION credit.transitions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'credit.record_transitions is append-only (% refused)', TG_OP; END $$"
    )
    op.execute(
        "CREATE TRIGGER record_transitions_no_change BEFORE UPDATE OR DELETE "
        "ON credit.record_transitions FOR EACH ROW EXECUTE FUNCTION credit.transitions_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS record_transitions_no_change ON credit.record_transitions")
    op.execute("DROP FUNCTION IF EXISTS credit.transitions_append_only()")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(
        op.f("ix_record_transitions_record_id"), table_name="record_transitions", schema="credit"
    )
    op.drop_table("record_transitions", schema="credit")
    op.drop_table("subject_links", schema="credit")
    op.drop_index(op.f("ix_records_unit_id"), table_name="records", schema="credit")
    op.drop_index(
        op.f("ix_records_subject_id_effective_from"), table_name="records", schema="credit"
    )
    op.drop_index(op.f("ix_records_status_tier"), table_name="records", schema="credit")
    op.drop_table("records", schema="credit")
    op.drop_table("rating_states", schema="credit")
    op.drop_table("subjects", schema="credit")
    op.drop_index(
        op.f("ix_rules_code"),
        table_name="rules",
        schema="credit",
        postgresql_where=sa.text("is_current"),
    )
    op.drop_table("rules", schema="credit")
    op.drop_index(op.f("ix_query_log_actor"), table_name="query_log", schema="credit")
    op.drop_table("query_log", schema="credit")
    # ### end Alembic commands ###
