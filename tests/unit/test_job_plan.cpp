#include "inputs/job_plan.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace fs = std::filesystem;
using Paths = std::vector<fs::path>;
using batchproc::ConfigError;
using batchproc::expand_output_name;
using batchproc::InputFile;
using batchproc::OutputNameFields;
using batchproc::plan_jobs;
using batchproc::RunSpec;

namespace {

OutputNameFields photo_fields() {
    OutputNameFields f;
    f.stem = "photo";
    f.name = "photo.JPG";
    f.ext = "jpg";
    f.src_ext = "png";
    f.rel_dir = "a/b";
    f.index = 7;
    return f;
}

// The ConfigError `fn` throws; fails the test when it throws none.
ConfigError config_error(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const ConfigError &e) {
        return e;
    }
    ADD_FAILURE() << "expected a ConfigError";
    return ConfigError({}, "", "");
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

TEST(JobPlan, ExpandsEveryPlaceholder) {
    const OutputNameFields f = photo_fields();
    EXPECT_EQ(expand_output_name("{rel_dir}/{stem}.{ext}", f), "a/b/photo.jpg");
    EXPECT_EQ(expand_output_name("{name}", f), "photo.JPG");
    EXPECT_EQ(expand_output_name("{index}", f), "7");
    EXPECT_EQ(expand_output_name("{index:05}_{stem}", f), "00007_photo");
    EXPECT_EQ(expand_output_name("x{index:01}", f), "x7");
    EXPECT_EQ(expand_output_name("plain.png", f), "plain.png");
    EXPECT_EQ(expand_output_name("{stem}.{src_ext}.{ext}", f), "photo.png.jpg") << "the input's own extension";
}

TEST(JobPlan, PaddingNeverTruncates) {
    OutputNameFields f = photo_fields();
    f.index = 123456;
    EXPECT_EQ(expand_output_name("{index:03}", f), "123456");
}

TEST(JobPlan, DoubledBracesAreLiteral) {
    const OutputNameFields f = photo_fields();
    EXPECT_EQ(expand_output_name("{{x}}", f), "{x}");
    EXPECT_EQ(expand_output_name("{{{stem}}}", f), "{photo}");
}

TEST(JobPlan, EmptyPlaceholdersTakeTheirSlashAlong) {
    OutputNameFields f = photo_fields();
    f.rel_dir = "";
    EXPECT_EQ(expand_output_name("{rel_dir}/{stem}.{ext}", f), "photo.jpg");
    EXPECT_EQ(expand_output_name("x/{rel_dir}/y", f), "x/y");
    EXPECT_EQ(expand_output_name("{stem}/{rel_dir}", f), "photo");
    EXPECT_EQ(expand_output_name("{rel_dir}{rel_dir}/{stem}", f), "photo");
    EXPECT_EQ(expand_output_name("{rel_dir}_{stem}", f), "_photo"); // no slash to collapse
    f.ext = "";
    EXPECT_EQ(expand_output_name("{stem}.{ext}", f), "photo");
}

TEST(JobPlan, MalformedNamesAreErrors) {
    const OutputNameFields f = photo_fields();
    const ConfigError unknown = config_error([&] { expand_output_name("{stemm}.{ext}", f); });
    EXPECT_EQ(unknown.key(), "output.name");
    EXPECT_TRUE(contains(unknown.message(), "{stemm}")) << unknown.what();
    EXPECT_TRUE(contains(unknown.message(), "did you mean \"{stem}\"")) << unknown.what();

    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{stem", f); }).message(), "unclosed"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{st{em}", f); }).message(), "unclosed"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("a}b", f); }).message(), "'}'"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{}", f); }).message(), "unknown placeholder"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{index:5}", f); }).message(), "{index:05}"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{index:0x}", f); }).message(), "{index:05}"));
    EXPECT_TRUE(contains(config_error([&] { expand_output_name("{stem:03}", f); }).message(), "only {index}"));
}

// A config at /base/cfg.yaml reading /base/in and writing /base/out.
class JobPlanRun : public ::testing::Test {
protected:
    void SetUp() override {
        spec_.config_path = "/base/cfg.yaml";
        spec_.base_dir = "/base";
        spec_.output.dir = "/base/out";
        spec_.output.name_mark = {"/base/cfg.yaml", 12, 9};
    }

    void add(const std::string &rel_dir, const std::string &name, const fs::path &root = "/base/in") {
        files_.push_back({rel_dir.empty() ? root / name : root / rel_dir / name, root, rel_dir});
    }

    std::vector<batchproc::PlannedJob> plan(bool writes = true, std::optional<std::string> ext = std::nullopt) {
        return plan_jobs(spec_, files_, writes, ext);
    }

    ConfigError plan_error(bool writes = true, std::optional<std::string> ext = std::nullopt) {
        const ConfigError e = config_error([&] { plan(writes, ext); });
        return e;
    }

    RunSpec spec_;
    std::vector<InputFile> files_;
};

TEST_F(JobPlanRun, DefaultNameKeepsFoldersAndLowerCasesTheExtension) {
    add("", "a.JPG");
    add("x/y", "b.png");
    add("", "c.jpg", "/elsewhere");
    const auto jobs = plan();
    ASSERT_EQ(jobs.size(), 3u);
    EXPECT_EQ(jobs[0].index, 0);
    EXPECT_EQ(jobs[0].input, "/base/in/a.JPG");
    EXPECT_EQ(jobs[0].display, "in/a.JPG");
    EXPECT_EQ(jobs[0].outputs, Paths{"/base/out/a.jpg"});
    EXPECT_EQ(jobs[1].index, 1);
    EXPECT_EQ(jobs[1].outputs, Paths{"/base/out/x/y/b.png"});
    EXPECT_EQ(jobs[1].display, "in/x/y/b.png");
    EXPECT_EQ(jobs[2].display, "/elsewhere/c.jpg"); // outside the config's folder: absolute
    EXPECT_EQ(jobs[2].outputs, Paths{"/base/out/c.jpg"});
}

TEST_F(JobPlanRun, SaveFormatSetsTheExtension) {
    add("", "a.JPG");
    add("sub", "b.tif");
    const auto jobs = plan(true, std::string("webp"));
    EXPECT_EQ(jobs[0].outputs, Paths{"/base/out/a.webp"});
    EXPECT_EQ(jobs[1].outputs, Paths{"/base/out/sub/b.webp"});
}

TEST_F(JobPlanRun, EveryPlaceholderInAPlan) {
    add("", "a.JPG");
    add("sub", "b.tif");
    spec_.output.name = "{rel_dir}/{index:04}-{stem}-{name}.{ext}";
    const auto jobs = plan(true, std::string("png"));
    EXPECT_EQ(jobs[0].outputs, Paths{"/base/out/0000-a-a.JPG.png"});
    EXPECT_EQ(jobs[1].outputs, Paths{"/base/out/sub/0001-b-b.tif.png"});
}

TEST_F(JobPlanRun, NothingWrittenMeansNoOutputsAndNoCollisionCheck) {
    add("", "a.jpg");
    add("", "a.png");
    spec_.output.dir.clear();
    spec_.output.name = "same";
    const auto jobs = plan(false);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_TRUE(jobs[0].outputs.empty());
    EXPECT_TRUE(jobs[1].outputs.empty());
    EXPECT_EQ(jobs[1].input, "/base/in/a.png");
}

TEST_F(JobPlanRun, CollisionNamesBothInputs) {
    add("", "a.jpg");
    add("", "a.png");
    const ConfigError e = plan_error(true, std::string("webp"));
    EXPECT_EQ(e.key(), "output.name");
    EXPECT_EQ(e.mark().line, 12);
    EXPECT_TRUE(contains(e.message(), "in/a.jpg")) << e.what();
    EXPECT_TRUE(contains(e.message(), "in/a.png")) << e.what();
    EXPECT_TRUE(contains(e.message(), "out/a.webp")) << e.what();
}

TEST_F(JobPlanRun, CollisionAcrossFoldersWithoutRelDir) {
    add("x", "a.jpg");
    add("y", "a.jpg");
    add("z", "a.jpg");
    spec_.output.name = "{stem}.{ext}";
    const ConfigError e = plan_error();
    EXPECT_TRUE(contains(e.message(), "in/x/a.jpg")) << e.what();
    EXPECT_TRUE(contains(e.message(), "in/y/a.jpg")) << e.what();
    EXPECT_TRUE(contains(e.message(), "1 more")) << e.what();
    spec_.output.name = "{rel_dir}/{stem}.{ext}";
    EXPECT_EQ(plan().size(), 3u);
}

TEST_F(JobPlanRun, NamesDifferingOnlyInCaseAreDistinct) {
    add("", "A.jpg");
    add("", "a.jpg");
    const auto jobs = plan();
    EXPECT_EQ(jobs[0].outputs, Paths{"/base/out/A.jpg"});
    EXPECT_EQ(jobs[1].outputs, Paths{"/base/out/a.jpg"});
}

TEST_F(JobPlanRun, NameMustStayInsideOutputDir) {
    add("", "a.jpg");
    spec_.output.name = "../x/{name}";
    ConfigError e = plan_error();
    EXPECT_EQ(e.key(), "output.name");
    EXPECT_TRUE(contains(e.message(), "outside output.dir")) << e.what();

    spec_.output.name = "sub/../../{name}";
    EXPECT_TRUE(contains(plan_error().message(), "outside output.dir"));

    spec_.output.name = "{rel_dir}/../{name}"; // rel_dir "" collapses: "../a.jpg"
    EXPECT_TRUE(contains(plan_error().message(), "outside output.dir"));

    spec_.output.name = "sub/../{name}"; // normalises to a.jpg: inside
    EXPECT_EQ(plan()[0].outputs, Paths{"/base/out/a.jpg"});
}

TEST_F(JobPlanRun, AbsoluteNameIsAnError) {
    add("", "a.jpg");
    spec_.output.name = "/tmp/{name}";
    const ConfigError e = plan_error();
    EXPECT_EQ(e.mark().line, 12);
    EXPECT_TRUE(contains(e.message(), "absolute")) << e.what();
}

TEST_F(JobPlanRun, UnknownPlaceholderCarriesTheNameMark) {
    spec_.output.name = "{rel_dir}/{stemm}.{ext}";
    const ConfigError e = plan_error(); // even with no input at all
    EXPECT_EQ(e.key(), "output.name");
    EXPECT_EQ(e.mark().file, "/base/cfg.yaml");
    EXPECT_EQ(e.mark().line, 12);
    EXPECT_EQ(e.mark().column, 9);
    EXPECT_TRUE(contains(e.message(), "did you mean \"{stem}\"")) << e.what();
    EXPECT_TRUE(contains(e.what(), "/base/cfg.yaml:12:9")) << e.what();
}

TEST_F(JobPlanRun, EmptyOrFolderNamesAreErrors) {
    add("", "a.jpg");
    spec_.output.name = "{rel_dir}";
    EXPECT_TRUE(contains(plan_error().message(), "empty")) << plan_error().what();
    spec_.output.name = "{stem}/..";
    EXPECT_TRUE(contains(plan_error().message(), "folder")) << plan_error().what();
}

TEST_F(JobPlanRun, WritingWithoutOutputDirIsAnError) {
    add("", "a.jpg");
    spec_.output.dir.clear();
    const ConfigError e = plan_error();
    EXPECT_EQ(e.key(), "output.dir");
    EXPECT_EQ(e.mark().file, "/base/cfg.yaml");
}

TEST_F(JobPlanRun, OutputMayNotReplaceAnInput) {
    add("", "a.jpg");
    add("", "a.png");
    spec_.output.dir = "/base/in";
    spec_.output.name = "{stem}.{ext}";
    ConfigError e = plan_error(true, std::string("png")); // a.jpg -> in/a.png, job 1's input
    EXPECT_TRUE(contains(e.message(), "would replace \"in/a.png\"")) << e.what();

    files_.pop_back();
    spec_.output.name = "{name}"; // in place
    e = plan_error();
    EXPECT_TRUE(contains(e.message(), "input file itself")) << e.what();
}

TEST_F(JobPlanRun, GeneratedJobs) {
    add("", "ignored.jpg"); // generate wins over files
    spec_.input.generate_count = 3;
    auto jobs = plan();
    ASSERT_EQ(jobs.size(), 3u);
    for (int64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(jobs[i].index, i);
        EXPECT_TRUE(jobs[i].input.empty());
        EXPECT_EQ(jobs[i].display, "#" + std::to_string(i));
        EXPECT_EQ(jobs[i].outputs, Paths{"/base/out/job" + std::to_string(i) + ".out"});
    }
    jobs = plan(true, std::string("png"));
    EXPECT_EQ(jobs[2].outputs, Paths{"/base/out/job2.png"});

    spec_.output.name = "r_{index:03}_{name}";
    EXPECT_EQ(plan()[1].outputs, Paths{"/base/out/r_001_job1.out"});

    spec_.output.name = "same.{ext}";
    const ConfigError e = plan_error();
    EXPECT_TRUE(contains(e.message(), "\"#0\" and \"#1\"")) << e.what();

    EXPECT_TRUE(plan(false)[0].outputs.empty());
    spec_.input.generate_count = 0;
    EXPECT_TRUE(plan().empty());
}

} // namespace

// Several output stages: each slot has its format and, optionally, its own name.
batchproc::OutputSlot slot(size_t stage, std::optional<std::string> ext, std::string name = "") {
    batchproc::OutputSlot s;
    s.stage = stage;
    s.ext = std::move(ext);
    s.name = std::move(name);
    s.name_mark = {"/base/cfg.yaml", 20 + static_cast<int>(stage), 5};
    s.stage_key = "pipeline[" + std::to_string(stage) + "].save";
    s.name_key = s.stage_key + ".name";
    return s;
}

TEST_F(JobPlanRun, EveryOutputStageGetsItsOwnPathInPipelineOrder) {
    add("", "a.JPG");
    add("sub", "b.png");
    const auto jobs = plan_jobs(spec_, files_,
                                {slot(1, "webp", "web/{rel_dir}/{stem}.{ext}"), slot(2, "jpg", "srcset/{stem}-800w.{ext}"),
                                 slot(4, std::nullopt)});
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0].outputs, (Paths{"/base/out/web/a.webp", "/base/out/srcset/a-800w.jpg", "/base/out/a.jpg"}));
    EXPECT_EQ(jobs[1].outputs,
              (Paths{"/base/out/web/sub/b.webp", "/base/out/srcset/b-800w.jpg", "/base/out/sub/b.png"}));
}

TEST_F(JobPlanRun, TwoOutputsOfOneJobOnOnePathAreAConfigErrorNamingBothStages) {
    add("", "a.jpg");
    const ConfigError e = config_error([&] { plan_jobs(spec_, files_, {slot(1, "jpg"), slot(3, "jpg")}); });
    EXPECT_EQ(e.key(), "output.name") << e.what();
    EXPECT_TRUE(contains(e.message(), "two outputs of \"in/a.jpg\"")) << e.what();
    EXPECT_TRUE(contains(e.message(), "own name")) << e.what();
    // Different formats under the default name do not collide.
    EXPECT_EQ(plan_jobs(spec_, files_, {slot(1, "jpg"), slot(3, "webp")})[0].outputs,
              (Paths{"/base/out/a.jpg", "/base/out/a.webp"}));
}

TEST_F(JobPlanRun, OutputsOfDifferentJobsAndStagesCollideAcrossSlots) {
    add("", "a.jpg");
    add("", "b.jpg");
    // b's thumbnail is named like a's... no: the fixed name of slot 2 is the same for every job.
    const ConfigError e =
        config_error([&] { plan_jobs(spec_, files_, {slot(1, "jpg"), slot(2, "jpg", "thumbs/fixed.jpg")}); });
    EXPECT_EQ(e.key(), "pipeline[2].save.name") << e.what();
    EXPECT_EQ(e.mark().line, 22);
    EXPECT_TRUE(contains(e.message(), "thumbs/fixed.jpg")) << e.what();
    // A slot's name that gives another job's first output.
    const ConfigError cross =
        config_error([&] { plan_jobs(spec_, files_, {slot(1, "jpg"), slot(2, "jpg", "b.{ext}")}); });
    EXPECT_TRUE(contains(cross.message(), "out/b.jpg")) << cross.what();
}

TEST_F(JobPlanRun, AStageNameIsCheckedLikeOutputName) {
    add("", "a.jpg");
    const ConfigError outside = config_error([&] { plan_jobs(spec_, files_, {slot(1, "jpg", "../{name}")}); });
    EXPECT_EQ(outside.key(), "pipeline[1].save.name");
    EXPECT_TRUE(contains(outside.message(), "outside output.dir")) << outside.what();
    const ConfigError unknown = config_error([&] { plan_jobs(spec_, files_, {slot(1, "jpg", "{size}.jpg")}); });
    EXPECT_EQ(unknown.key(), "pipeline[1].save.name");
    EXPECT_TRUE(contains(unknown.message(), "unknown placeholder")) << unknown.what();
    const ConfigError input = config_error([&] {
        spec_.output.dir = "/base/in";
        plan_jobs(spec_, files_, {slot(1, "png"), slot(2, "jpg", "{name}")});
    });
    EXPECT_TRUE(contains(input.message(), "input file itself")) << input.what();
}

