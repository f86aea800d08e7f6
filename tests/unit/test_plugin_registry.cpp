// The plugin loader (plugin_host/plugin_registry) and stage parameter validation
// (plugin_host/param_set), against real shared objects: the bundled plugins and the test
// plugins in tests/plugins (bad_major, newer_minor, no_entry, abi_probe). The test plugin
// folder may hold other test plugins too; nothing here depends on the full set.
#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"
#include "config/spec.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using batchproc::ConfigError;
using batchproc::LoadedPlugin;
using batchproc::PluginError;
using batchproc::PluginRegistry;
using batchproc::test::run_generated;
using batchproc::test::run_stage;
using batchproc::test::StageResult;

const fs::path test_plugins = BP_TEST_PLUGIN_DIR;
const fs::path bundled_plugins = BP_PLUGIN_DIR;

const std::string host_version = std::to_string(BP_API_VERSION_MAJOR) + "." + std::to_string(BP_API_VERSION_MINOR);

// Sets (or unsets, with nullopt) an environment variable for the life of the guard.
class EnvGuard {
public:
    EnvGuard(const char *name, std::optional<std::string> value) : name_(name) {
        if (const char *old = std::getenv(name)) old_ = old;
        if (value) ::setenv(name, value->c_str(), 1);
        else ::unsetenv(name);
    }
    ~EnvGuard() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    EnvGuard(const EnvGuard &) = delete;
    EnvGuard &operator=(const EnvGuard &) = delete;

private:
    const char *name_;
    std::optional<std::string> old_;
};

// A fresh folder under the test's temporary directory, removed at the end.
class ScratchDir {
public:
    ScratchDir() {
        path_ = fs::path(testing::TempDir()) /
                ("bp_registry_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;
    const fs::path &path() const { return path_; }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// The message of the PluginError that loading `what` throws ("" if it loads).
std::string load_error(PluginRegistry &registry, const std::string &what) {
    try {
        registry.load(what);
    } catch (const PluginError &e) {
        return e.what();
    }
    return "";
}

const LoadedPlugin *find_plugin(const PluginRegistry &registry, const std::string &id) {
    for (const LoadedPlugin &p : registry.plugins())
        if (p.id == id) return &p;
    return nullptr;
}

fs::path real_path(const fs::path &p) { return fs::weakly_canonical(p); }

// ---------------------------------------------------------------------------------------
// ABI version and shape checks

TEST(PluginRegistry, RejectsOtherMajorVersionNamingFileAndBothVersions) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    const std::string error = load_error(registry, (test_plugins / "bad_major.so").string());
    EXPECT_TRUE(contains(error, (real_path(test_plugins) / "bad_major.so").string())) << error;
    EXPECT_TRUE(contains(error, "2.0")) << error;
    EXPECT_TRUE(contains(error, host_version)) << error;
    EXPECT_TRUE(contains(error, "major")) << error;
    EXPECT_TRUE(registry.plugins().empty());
    EXPECT_EQ(registry.find_stage("bad_major_stage").stage, nullptr);
}

TEST(PluginRegistry, RejectsNewerMinorVersionNamingFileAndBothVersions) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    const std::string error = load_error(registry, (test_plugins / "newer_minor.so").string());
    const std::string plugin_version =
        std::to_string(BP_API_VERSION_MAJOR) + "." + std::to_string(BP_API_VERSION_MINOR + 1);
    EXPECT_TRUE(contains(error, "newer_minor.so")) << error;
    EXPECT_TRUE(contains(error, plugin_version)) << error;
    EXPECT_TRUE(contains(error, host_version)) << error;
    EXPECT_TRUE(registry.plugins().empty());
}

TEST(PluginRegistry, RejectsSharedObjectWithoutEntrySymbol) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    const std::string error = load_error(registry, (test_plugins / "no_entry.so").string());
    EXPECT_TRUE(contains(error, "no_entry.so")) << error;
    EXPECT_TRUE(contains(error, BP_PLUGIN_ENTRY_V1_NAME)) << error;
}

TEST(PluginRegistry, RejectsMissingFileAndNonLibrary) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    ScratchDir dir;
    PluginRegistry registry;
    const std::string missing = (dir.path() / "absent.so").string();
    std::string error = load_error(registry, missing);
    EXPECT_TRUE(contains(error, missing)) << error;
    EXPECT_TRUE(contains(error, "does not exist")) << error;

    const fs::path text = dir.path() / "notes.so";
    std::ofstream(text) << "this is not a shared object\n";
    error = load_error(registry, text.string());
    EXPECT_TRUE(contains(error, text.string())) << error;
    EXPECT_TRUE(contains(error, "cannot load")) << error;
}

// A name the system refuses (longer than a file name may be) is a plugin error, which the
// config turns into exit 2, not an exception from the filesystem (exit 3).
TEST(PluginRegistry, ANameTooLongForTheSystemIsAPluginError) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    const std::string name(300, 'p');
    std::string error = load_error(registry, name);
    EXPECT_TRUE(contains(error, "cannot be looked up")) << error;
    EXPECT_TRUE(contains(error, "too long")) << error;
    error = load_error(registry, "/tmp/" + name + ".so");
    EXPECT_TRUE(contains(error, "cannot be used")) << error;
}

TEST(PluginRegistry, VersionRuleIsSameMajorAndNoNewerMinor) {
    bp_plugin_descriptor d{};
    d.struct_size = sizeof d;
    d.api_major = BP_API_VERSION_MAJOR;
    d.api_minor = BP_API_VERSION_MINOR;
    d.id = "inline";
    d.version = "1";
    EXPECT_NO_THROW(batchproc::check_plugin_version(d, "inline.so"));

    auto message = [](const bp_plugin_descriptor &desc) -> std::string {
        try {
            batchproc::check_plugin_version(desc, "/some/where/inline.so");
        } catch (const PluginError &e) {
            return e.what();
        }
        return "";
    };
    bp_plugin_descriptor older_major = d;
    older_major.api_major = BP_API_VERSION_MAJOR - 1;
    EXPECT_TRUE(contains(message(older_major), "/some/where/inline.so")) << message(older_major);
    bp_plugin_descriptor newer_major = d;
    newer_major.api_major = BP_API_VERSION_MAJOR + 1;
    newer_major.api_minor = 0;
    EXPECT_TRUE(contains(message(newer_major), std::to_string(BP_API_VERSION_MAJOR + 1) + ".0"));
    bp_plugin_descriptor newer_minor = d;
    newer_minor.api_minor = BP_API_VERSION_MINOR + 1;
    EXPECT_NE(message(newer_minor), "");

    bp_plugin_descriptor small = d;
    small.struct_size = sizeof(bp_plugin_descriptor) - 8;
    EXPECT_TRUE(contains(message(small), "malformed")) << message(small);
    bp_plugin_descriptor no_id = d;
    no_id.id = "";
    EXPECT_TRUE(contains(message(no_id), "malformed")) << message(no_id);

    bp_stage_descriptor stage{};
    stage.struct_size = sizeof stage;
    stage.name = "half_made"; // no create/process/destroy
    const bp_stage_descriptor *stages[] = {&stage};
    bp_plugin_descriptor bad_stage = d;
    bad_stage.stage_count = 1;
    bad_stage.stages = stages;
    EXPECT_TRUE(contains(message(bad_stage), "stage 0")) << message(bad_stage);
}

// ---------------------------------------------------------------------------------------
// Finding plugins: bundled names, paths, the search path

TEST(PluginRegistry, LoadsBundledPluginByName) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    ASSERT_EQ(registry.search_path().size(), 1u);
    EXPECT_EQ(real_path(registry.search_path().back()), real_path(bundled_plugins));
    EXPECT_EQ(real_path(PluginRegistry::bundled_dir()), real_path(bundled_plugins));

    const LoadedPlugin &sumsq = registry.load("sumsq");
    EXPECT_EQ(sumsq.id, "sumsq");
    EXPECT_EQ(sumsq.version, "1.0.0");
    EXPECT_EQ(sumsq.file, real_path(bundled_plugins / "sumsq.so"));
    ASSERT_NE(sumsq.descriptor, nullptr);
    EXPECT_EQ(sumsq.descriptor->api_major, unsigned(BP_API_VERSION_MAJOR));

    // The same plugin again, by name or by path, is the first load.
    EXPECT_EQ(&registry.load("sumsq"), &sumsq);
    EXPECT_EQ(&registry.load((bundled_plugins / "sumsq.so").string()), &sumsq);
    EXPECT_EQ(registry.plugins().size(), 1u);
}

TEST(PluginRegistry, LoadsByPath) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    const LoadedPlugin &probe = registry.load((test_plugins / "abi_probe.so").string());
    EXPECT_EQ(probe.id, "abi_probe");
    EXPECT_EQ(probe.version, "0.1.0");
    EXPECT_EQ(probe.file, real_path(test_plugins / "abi_probe.so"));
    // Once loaded, its id works as a name too.
    EXPECT_EQ(&registry.load("abi_probe"), &probe);
}

TEST(PluginRegistry, RefusesTwoPluginsWithOneId) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    ScratchDir dir;
    fs::copy_file(test_plugins / "abi_probe.so", dir.path() / "probe_copy.so");
    PluginRegistry registry;
    registry.load((test_plugins / "abi_probe.so").string());
    const std::string error = load_error(registry, (dir.path() / "probe_copy.so").string());
    EXPECT_TRUE(contains(error, "probe_copy.so")) << error;
    EXPECT_TRUE(contains(error, "already loaded")) << error;
    EXPECT_EQ(registry.plugins().size(), 1u);
}

TEST(PluginRegistry, UnknownNameListsTheSearchPath) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", "/no/such/env_a:/no/such/env_b");
    PluginRegistry registry({"/no/such/extra"});
    const std::string error = load_error(registry, "no_such_plugin");
    EXPECT_TRUE(contains(error, "\"no_such_plugin\"")) << error;
    EXPECT_TRUE(contains(error, "/no/such/extra")) << error;
    EXPECT_TRUE(contains(error, "/no/such/env_a")) << error;
    EXPECT_TRUE(contains(error, "/no/such/env_b")) << error;
    EXPECT_TRUE(contains(error, PluginRegistry::bundled_dir().string())) << error;
    EXPECT_TRUE(contains(error, "BATCHPROC_PLUGIN_PATH")) << error;
}

TEST(PluginRegistry, HonoursPluginPathEnvironmentVariable) {
    {
        EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
        PluginRegistry registry;
        EXPECT_NE(load_error(registry, "abi_probe"), "") << "abi_probe is not a bundled plugin";
    }
    EnvGuard env("BATCHPROC_PLUGIN_PATH", "/no/such/folder::" + test_plugins.string());
    PluginRegistry registry({"/no/such/extra"});
    // Order: the config's folders, then the variable's (empty entries skipped), then bundled.
    const std::vector<fs::path> expected = {"/no/such/extra", "/no/such/folder", test_plugins,
                                            PluginRegistry::bundled_dir()};
    EXPECT_EQ(registry.search_path(), expected);
    const LoadedPlugin &probe = registry.load("abi_probe");
    EXPECT_EQ(probe.file, real_path(test_plugins / "abi_probe.so"));
}

TEST(PluginRegistry, EarlierFolderWinsForOneName) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    ScratchDir first, second;
    fs::copy_file(test_plugins / "abi_probe.so", first.path() / "abi_probe.so");
    fs::copy_file(test_plugins / "abi_probe.so", second.path() / "abi_probe.so");
    PluginRegistry registry({first.path(), second.path()});
    EXPECT_EQ(registry.load("abi_probe").file, real_path(first.path() / "abi_probe.so"));
}

TEST(PluginRegistry, LoadAllReportsBrokenPluginsAndLoadsGoodOnes) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    // Copies of this file's test plugins only: the test plugin folder also holds plugins
    // that misbehave on purpose, which are not this test's business.
    ScratchDir dir;
    for (const char *file : {"abi_probe.so", "bad_major.so", "newer_minor.so", "no_entry.so"})
        fs::copy_file(test_plugins / file, dir.path() / file);
    PluginRegistry registry({dir.path()});
    const std::vector<std::string> errors = registry.load_all();
    EXPECT_EQ(errors.size(), 3u);

    auto error_for = [&](const std::string &file) -> std::string {
        for (const std::string &e : errors)
            if (contains(e, "/" + file)) return e;
        return "";
    };
    EXPECT_TRUE(contains(error_for("bad_major.so"), "2.0")) << error_for("bad_major.so");
    EXPECT_TRUE(contains(error_for("newer_minor.so"), host_version));
    EXPECT_TRUE(contains(error_for("no_entry.so"), BP_PLUGIN_ENTRY_V1_NAME));
    EXPECT_EQ(error_for("abi_probe.so"), "");
    EXPECT_EQ(error_for("sumsq.so"), "");
    EXPECT_EQ(error_for("imgproc.so"), "");

    ASSERT_NE(find_plugin(registry, "abi_probe"), nullptr);
    ASSERT_NE(find_plugin(registry, "sumsq"), nullptr);
    ASSERT_NE(find_plugin(registry, "imgproc"), nullptr);
    EXPECT_EQ(find_plugin(registry, "abi_probe")->file, real_path(dir.path() / "abi_probe.so"));
    EXPECT_EQ(find_plugin(registry, "sumsq")->file, real_path(bundled_plugins / "sumsq.so"));
    EXPECT_EQ(find_plugin(registry, "bad_major"), nullptr);
    EXPECT_EQ(find_plugin(registry, "newer_minor"), nullptr);

    // A second pass finds everything loaded already and reports the same broken files.
    const size_t loaded = registry.plugins().size();
    EXPECT_EQ(registry.load_all().size(), errors.size());
    EXPECT_EQ(registry.plugins().size(), loaded);
}

TEST(PluginRegistry, FindsStagesByName) {
    EnvGuard env("BATCHPROC_PLUGIN_PATH", std::nullopt);
    PluginRegistry registry;
    EXPECT_TRUE(registry.stage_names().empty());
    EXPECT_EQ(registry.find_stage("sum_of_squares").stage, nullptr);

    registry.load("sumsq");
    registry.load((test_plugins / "abi_probe.so").string());

    const batchproc::StageRef sumsq = registry.find_stage("sum_of_squares");
    ASSERT_NE(sumsq.stage, nullptr);
    ASSERT_NE(sumsq.plugin, nullptr);
    EXPECT_EQ(sumsq.plugin->id, "sumsq");
    EXPECT_EQ(sumsq.stage->flags, 0u); // runs on jobs without an image
    ASSERT_EQ(sumsq.stage->param_count, 1u);
    const bp_param_schema &n = *sumsq.stage->params[0];
    EXPECT_STREQ(n.name, "n");
    EXPECT_EQ(n.type, BP_PARAM_INT);
    EXPECT_STREQ(n.default_value, "1000000");
    EXPECT_EQ(n.has_range, 1);
    EXPECT_EQ(n.min_value, 0.0);
    EXPECT_EQ(n.max_value, 1e12);

    const batchproc::StageRef probe = registry.find_stage("abi_probe");
    ASSERT_NE(probe.stage, nullptr);
    EXPECT_EQ(probe.plugin->id, "abi_probe");
    EXPECT_EQ(probe.stage->param_count, 6u);

    EXPECT_EQ(registry.find_stage("sum_of_square").stage, nullptr);
    EXPECT_EQ(registry.find_stage("").plugin, nullptr);
    const std::vector<std::string> names = registry.stage_names();
    EXPECT_EQ(names, (std::vector<std::string>{"sum_of_squares", "abi_probe"}));
}

// ---------------------------------------------------------------------------------------
// Stage parameters: validate_params directly, and through the host with run_generated

class PluginRegistryParams : public testing::Test {
protected:
    void SetUp() override {
        registry_.load((test_plugins / "abi_probe.so").string());
        stage_ = registry_.find_stage("abi_probe").stage;
        ASSERT_NE(stage_, nullptr);
    }

    // Parameters as a config would write them, each marked at line 7 + its position.
    batchproc::ParamSet validate(const std::string &yaml) {
        batchproc::StageSpec spec;
        spec.name = "abi_probe";
        spec.mark = {"cfg.yaml", 6, 5};
        int line = 7;
        if (!yaml.empty()) {
            const YAML::Node node = YAML::Load(yaml);
            for (auto it = node.begin(); it != node.end(); ++it)
                spec.params.push_back({it->first.as<std::string>(), it->second, {"cfg.yaml", line++, 9}});
        }
        return batchproc::validate_params(*stage_, spec, "pipeline[2].abi_probe");
    }

    // The ConfigError that validating `yaml` throws; fails the test if none.
    ConfigError rejected(const std::string &yaml) {
        try {
            validate(yaml);
        } catch (const ConfigError &e) {
            return e;
        }
        ADD_FAILURE() << yaml << " was accepted";
        return ConfigError({}, "", "");
    }

    PluginRegistry registry_{std::vector<fs::path>{}};
    const bp_stage_descriptor *stage_ = nullptr;
};

TEST_F(PluginRegistryParams, FillsDefaultsInSchemaOrder) {
    const batchproc::ParamSet set = validate("");
    ASSERT_EQ(set.values().size(), 6u);
    const std::vector<std::string> order = {"count", "gain", "enabled", "label", "mode", "seed"};
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(set.values()[i].name, order[i]);
    EXPECT_EQ(set.c_params()->count, 6u);
    EXPECT_EQ(set.c_params()->values, set.values().data());
    EXPECT_EQ(set.find("count")->int_value, 3);
    EXPECT_EQ(set.find("gain")->float_value, 1.5);
    EXPECT_EQ(set.find("enabled")->bool_value, 1);
    EXPECT_STREQ(set.find("label")->string_value, "probe");
    EXPECT_STREQ(set.find("mode")->string_value, "fast");
    EXPECT_EQ(set.find("seed")->is_set, 0); // no default: optional and unset
    EXPECT_EQ(set.text("seed"), "");
    EXPECT_EQ(set.text("mode"), "fast");
    EXPECT_EQ(set.find("nothing"), nullptr);
}

TEST_F(PluginRegistryParams, GivenValuesOverrideDefaultsAndSurviveCopies) {
    batchproc::ParamSet copy;
    {
        const batchproc::ParamSet set =
            validate("{count: 100, gain: 0, enabled: off, label: 'two words', mode: exact, seed: -7}");
        copy = set; // strings must be owned by the copy, not point into `set`
    }
    EXPECT_EQ(copy.find("count")->int_value, 100);
    EXPECT_EQ(copy.find("gain")->float_value, 0.0);
    EXPECT_EQ(copy.find("enabled")->bool_value, 0);
    EXPECT_STREQ(copy.find("label")->string_value, "two words");
    EXPECT_STREQ(copy.find("mode")->string_value, "exact");
    EXPECT_EQ(copy.find("seed")->is_set, 1);
    EXPECT_EQ(copy.find("seed")->int_value, -7);
    EXPECT_EQ(copy.c_params()->values, copy.values().data());
}

TEST_F(PluginRegistryParams, UnknownParameterSuggestsTheClosestName) {
    const ConfigError e = rejected("{count: 1, gaim: 2}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.gaim");
    EXPECT_EQ(e.mark().file, "cfg.yaml");
    EXPECT_EQ(e.mark().line, 8); // the second parameter's position
    EXPECT_TRUE(contains(e.message(), "did you mean \"gain\"")) << e.what();
    EXPECT_TRUE(contains(e.message(), "count, gain, enabled, label, mode, seed")) << e.what();
}

TEST_F(PluginRegistryParams, WrongTypesNameTheParameter) {
    ConfigError e = rejected("{count: many}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.count");
    EXPECT_TRUE(contains(e.message(), "integer")) << e.what();
    EXPECT_TRUE(contains(e.message(), "many")) << e.what();

    e = rejected("{count: 2.5}");
    EXPECT_TRUE(contains(e.message(), "integer")) << e.what();
    e = rejected("{gain: fast}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.gain");
    EXPECT_TRUE(contains(e.message(), "number")) << e.what();
    e = rejected("{enabled: maybe}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.enabled");
    EXPECT_TRUE(contains(e.message(), "true or false")) << e.what();
    e = rejected("{count: [1, 2]}");
    EXPECT_TRUE(contains(e.message(), "list")) << e.what();
    e = rejected("{label: {a: 1}}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.label");
    EXPECT_TRUE(contains(e.message(), "mapping")) << e.what();
}

TEST_F(PluginRegistryParams, OutOfRangeValuesShowTheRange) {
    ConfigError e = rejected("{count: 101}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.count");
    EXPECT_TRUE(contains(e.message(), "[0, 100]")) << e.what();
    EXPECT_TRUE(contains(e.message(), "101")) << e.what();
    e = rejected("{count: -1}");
    EXPECT_TRUE(contains(e.message(), "-1")) << e.what();
    e = rejected("{gain: 10.5}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.gain");
    EXPECT_TRUE(contains(e.message(), "[0, 10]")) << e.what();
    // The ends of a range are inside it.
    EXPECT_NO_THROW(validate("{count: 0, gain: 10}"));
}

TEST_F(PluginRegistryParams, BadChoiceListsChoicesAndSuggests) {
    const ConfigError e = rejected("{mode: exat}");
    EXPECT_EQ(e.key(), "pipeline[2].abi_probe.mode");
    EXPECT_TRUE(contains(e.message(), "fast, slow, exact")) << e.what();
    EXPECT_TRUE(contains(e.message(), "did you mean \"exact\"")) << e.what();
}

// Through the host: plan_pipeline validates, creates the stage once, and the stage sees
// exactly the validated values.
TEST(PluginRegistryHost, SeesDefaultsAndJobIdentity) {
    const StageResult r = run_generated("abi_probe", "", "abi_probe", 41);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.metrics["count"], 3);
    EXPECT_EQ(r.metrics["gain"], 1.5);
    EXPECT_EQ(r.metrics["enabled"], 1);
    EXPECT_EQ(r.metrics["label"], "probe");
    EXPECT_EQ(r.metrics["mode"], "fast");
    EXPECT_EQ(r.metrics["seed_set"], 0);
    EXPECT_EQ(r.metrics["index"], 41);
    EXPECT_EQ(r.metrics["input_path"], "");
    EXPECT_EQ(r.metrics["has_image"], 0);
    EXPECT_TRUE(r.warnings.empty());
}

TEST(PluginRegistryHost, SeesGivenValuesAndTheImage) {
    const cv::Mat image(6, 9, CV_8UC3, cv::Scalar::all(1));
    const StageResult r = run_stage("abi_probe", "{count: 0, gain: 2.25, enabled: false, mode: exact, seed: 5}",
                                    image, "abi_probe", "photos/a.png");
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.metrics["count"], 0);
    EXPECT_EQ(r.metrics["gain"], 2.25);
    EXPECT_EQ(r.metrics["enabled"], 0);
    EXPECT_EQ(r.metrics["mode"], "exact");
    EXPECT_EQ(r.metrics["seed"], 5);
    EXPECT_EQ(r.metrics["input_path"], "photos/a.png");
    EXPECT_EQ(r.metrics["has_image"], 1);
    EXPECT_EQ(r.metrics["width"], 9);
    EXPECT_EQ(r.metrics["height"], 6);
    EXPECT_EQ(r.warnings, std::vector<std::string>{"count is 0"});
}

TEST(PluginRegistryHost, InvalidParameterIsAConfigError) {
    EXPECT_THROW(run_generated("abi_probe", "{cont: 3}", "abi_probe"), batchproc::test::ParamError);
    EXPECT_THROW(run_generated("abi_probe", "{mode: quick}", "abi_probe"), batchproc::test::ParamError);
}

TEST(PluginRegistryHost, StageRefusingItsParametersIsAConfigError) {
    // create() fails (mode exact without seed): reported before any job, naming the stage.
    try {
        run_generated("abi_probe", "{mode: exact}", "abi_probe");
        ADD_FAILURE() << "accepted";
    } catch (const batchproc::test::ParamError &e) {
        EXPECT_EQ(e.key(), "pipeline[0].abi_probe");
        EXPECT_TRUE(contains(e.message(), "mode exact needs a seed")) << e.what();
    }
}

TEST(PluginRegistryHost, ProcessErrorBecomesTheJobError) {
    const StageResult r = run_generated("abi_probe", "{label: fail}", "abi_probe");
    EXPECT_TRUE(contains(r.error, "failed on purpose")) << r.error;
}

TEST(PluginRegistryHost, UnknownPluginIsAConfigError) {
    try {
        run_generated("abi_probe", "", "no_such_plugin");
        ADD_FAILURE() << "accepted";
    } catch (const batchproc::test::ParamError &e) {
        EXPECT_EQ(e.key(), "plugins");
        EXPECT_TRUE(contains(e.message(), "no_such_plugin")) << e.what();
    }
}

} // namespace
