// `batchproc do`: -p words into stages, the command line into a config text that the config
// loader reads back into the same job, and errors told in terms of the option they came from.
#include "config/config_loader.hpp"
#include "config/one_liner.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace batchproc;

namespace {

const fs::path kCwd = "/home/me/work";

// The ConfigError `f` throws; a test failure when it throws none.
template <typename F> ConfigError error_of(F f) {
    try {
        f();
    } catch (const ConfigError &e) {
        return e;
    }
    ADD_FAILURE() << "no ConfigError";
    return ConfigError({}, "", "");
}

std::string scalar(const StageWords &s, size_t i) { return s.params.at(i).second.Scalar(); }

OneLiner thumbnails() {
    OneLiner line;
    line.inputs = {"photos/", "extra/a.jpg"};
    line.output_dir = "out/";
    line.stages = {"resize max_side=1600", "save format=webp quality=80"};
    return line;
}

} // namespace

TEST(OneLinerWords, SplitsAtBlanksOutsideQuotesAndKeepsTheQuotes) {
    EXPECT_EQ(split_stage_words("  resize\tmax_side=1600  interpolation=area "),
              (std::vector<std::string>{"resize", "max_side=1600", "interpolation=area"}));
    EXPECT_EQ(split_stage_words("watermark text='a  b' color=\"x y\""),
              (std::vector<std::string>{"watermark", "text='a  b'", "color=\"x y\""}));
    // Escapes as YAML has them: '' in single quotes, \" in double quotes.
    EXPECT_EQ(split_stage_words("w text='it''s mine' t=\"say \\\"hi there\\\"\""),
              (std::vector<std::string>{"w", "text='it''s mine'", "t=\"say \\\"hi there\\\"\""}));
    // A quote inside an unquoted value is a character like any other.
    EXPECT_EQ(split_stage_words("w text=O'Brien"), (std::vector<std::string>{"w", "text=O'Brien"}));
    EXPECT_TRUE(split_stage_words(" \t ").empty());
}

TEST(OneLinerWords, ValuesAreScalarsQuotedAsInYaml) {
    const StageWords s = parse_stage_words("watermark text='© 2026 Me' quality=80 t=\"tab\\there\" q='it''s' "
                                           "name={stem}_s.{ext} c=#fff e= x=a=b");
    EXPECT_EQ(s.name, "watermark");
    ASSERT_EQ(s.params.size(), 8u);
    EXPECT_EQ(s.params[0].first, "text");
    EXPECT_EQ(scalar(s, 0), "© 2026 Me");
    EXPECT_EQ(scalar(s, 1), "80");
    EXPECT_EQ(scalar(s, 2), "tab\there");
    EXPECT_EQ(scalar(s, 3), "it's");
    EXPECT_EQ(scalar(s, 4), "{stem}_s.{ext}"); // unquoted: as written, never a YAML mapping
    EXPECT_EQ(scalar(s, 5), "#fff");           // never a YAML comment
    EXPECT_TRUE(s.params[6].second.IsScalar());
    EXPECT_EQ(scalar(s, 6), "");
    EXPECT_EQ(s.params[7].first, "x");
    EXPECT_EQ(scalar(s, 7), "a=b");
    EXPECT_TRUE(parse_stage_words("grayscale").params.empty());
}

TEST(OneLinerWords, MistakesNameTheOptionAndTheWord) {
    struct Case {
        const char *text;
        const char *says;
    };
    for (const Case &c : {Case{"resize max_side 1600", "\"max_side\" is not a parameter"},
                          Case{"resize =3", "\"=3\" is not a parameter"},
                          Case{"max_side=3", "starts with \"max_side=3\", not a stage name"},
                          Case{"", "names no stage"},
                          Case{"watermark text='a b", "quote in \"text='a b\" is not closed"},
                          Case{"watermark text=\"a b", "quote in \"text=\"a b\" is not closed"},
                          Case{"watermark text='a b'c", "is followed by \"c\" after its closing quote"},
                          Case{"watermark text=\"a\\q\"", "cannot be read"},
                          Case{"resize max_side=3 max_side=4", "\"max_side\" is given twice"}}) {
        const ConfigError e = error_of([&] { parse_stage_words(c.text); });
        if (std::string(c.text).find('\'') == std::string::npos)
            EXPECT_EQ(e.mark().file, "-p '" + std::string(c.text) + "'") << c.text;
        else
            EXPECT_EQ(e.mark().file.rfind("-p '", 0), 0u) << c.text;
        EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    }
    // The option is shown as it could be typed again, quotes and all.
    EXPECT_EQ(error_of([] { parse_stage_words("w text='a"); }).mark().file, "-p 'w text='\\''a'");
}

TEST(OneLinerConfig, IsTheConfigFileTheCommandLineStandsFor) {
    OneLiner line = thumbnails();
    line.name = "{stem}-small.{ext}";
    line.workers = "2";
    line.report = "r.json";
    const std::string text = config_text(one_liner_config(line, kCwd));
    EXPECT_EQ(text.substr(text.find("plugins:")), "plugins: [imgproc]\n"
                                                  "input:\n"
                                                  "  paths: [/home/me/work/photos, /home/me/work/extra/a.jpg]\n"
                                                  "output:\n"
                                                  "  dir: /home/me/work/out\n"
                                                  "  name: \"{stem}-small.{ext}\"\n"
                                                  "pool:\n"
                                                  "  workers: 2\n"
                                                  "report: /home/me/work/r.json\n"
                                                  "pipeline:\n"
                                                  "  - resize: {max_side: 1600}\n"
                                                  "  - save: {format: webp, quality: 80}\n");
    EXPECT_EQ(text.rfind("# ", 0), 0u) << "starts with a comment saying what it is";
}

TEST(OneLinerConfig, LoadsIntoTheSpecOfTheEquivalentConfig) {
    OneLiner line = thumbnails();
    line.include = {"*.jpg", "*.png"};
    line.exclude = {"raw"};
    line.recursive = false;
    line.metadata = "keep";
    line.plugins = {"sumsq", "../plugins/mine.so", "imgproc"};
    line.mode = "threads";
    line.start_method = "spawn";
    line.journal = "false";
    line.verify_content = true;
    line.stages = {"watermark text='Hello World' opacity=0.25", "save"};
    // Loaded from another folder: every path in the text is absolute.
    const RunSpec spec = load_config_text(config_text(one_liner_config(line, kCwd)), "/elsewhere/job.yaml");
    ASSERT_EQ(spec.input.paths.size(), 2u);
    EXPECT_EQ(spec.input.paths[0], "/home/me/work/photos");
    EXPECT_EQ(spec.input.paths[1], "/home/me/work/extra/a.jpg");
    EXPECT_EQ(spec.input.include, (std::vector<std::string>{"*.jpg", "*.png"}));
    EXPECT_EQ(spec.input.exclude, (std::vector<std::string>{"raw"}));
    EXPECT_FALSE(spec.input.recursive);
    EXPECT_EQ(spec.output.dir, "/home/me/work/out");
    EXPECT_EQ(spec.output.metadata, MetadataPolicy::keep);
    ASSERT_EQ(spec.plugins.size(), 3u); // imgproc once, first
    EXPECT_EQ(spec.plugins[0].name_or_path, "imgproc");
    EXPECT_EQ(spec.plugins[1].name_or_path, "sumsq");
    EXPECT_EQ(spec.plugins[2].name_or_path, "/home/me/plugins/mine.so");
    EXPECT_EQ(spec.pool.mode, PoolMode::threads);
    EXPECT_EQ(spec.pool.start_method, StartMethod::spawn);
    EXPECT_FALSE(spec.journal.enabled);
    EXPECT_TRUE(spec.resume.enabled);
    EXPECT_TRUE(spec.resume.verify_content);
    ASSERT_EQ(spec.pipeline.size(), 2u);
    EXPECT_EQ(spec.pipeline[0].name, "watermark");
    ASSERT_EQ(spec.pipeline[0].params.size(), 2u);
    EXPECT_EQ(spec.pipeline[0].params[0].value.Scalar(), "Hello World");
    EXPECT_EQ(spec.pipeline[0].params[1].value.Scalar(), "0.25");
    EXPECT_EQ(spec.pipeline[1].name, "save");
    EXPECT_TRUE(spec.pipeline[1].params.empty());
}

TEST(OneLinerConfig, TextThatYamlWouldReadOtherwiseSurvivesTheRoundTrip) {
    OneLiner line;
    line.inputs = {"été/pré vert.jpg", "#1", "a: b"};
    line.files_from = "";
    line.output_dir = "- out";
    line.name = "{stem}.{ext}";
    line.stages = {"watermark text=null color='yes' c=\"~\" d=[x] e=\"line\\nbreak\" f='' g=*a"};
    line.journal = "jour nal";
    const RunSpec spec = load_config_text(config_text(one_liner_config(line, kCwd)), "/x/job.yaml");
    EXPECT_EQ(spec.input.paths[0], "/home/me/work/été/pré vert.jpg");
    EXPECT_EQ(spec.input.paths[1], "/home/me/work/#1");
    EXPECT_EQ(spec.input.paths[2], "/home/me/work/a: b");
    EXPECT_EQ(spec.output.dir, "/home/me/work/- out");
    EXPECT_EQ(spec.output.name, "{stem}.{ext}");
    EXPECT_EQ(spec.journal.path, "/home/me/work/jour nal");
    const std::vector<RawParam> &p = spec.pipeline.at(0).params;
    ASSERT_EQ(p.size(), 7u);
    const std::vector<std::string> expected{"null", "yes", "~", "[x]", "line\nbreak", "", "*a"};
    for (size_t i = 0; i < p.size(); ++i) {
        ASSERT_TRUE(p[i].value.IsScalar()) << p[i].name;
        EXPECT_EQ(p[i].value.Scalar(), expected[i]) << p[i].name;
    }
}

TEST(OneLinerConfig, FilesFromAndNoInputs) {
    OneLiner line;
    line.files_from = "-";
    line.null_separated = true;
    line.stages = {"resize max_side=8"};
    RunSpec spec = load_config_text(config_text(one_liner_config(line, kCwd)), "/x/job.yaml");
    EXPECT_EQ(spec.input.list, "-");
    EXPECT_TRUE(spec.input.list_nul);
    line.files_from = "list.txt";
    spec = load_config_text(config_text(one_liner_config(line, kCwd)), "/x/job.yaml");
    EXPECT_EQ(spec.input.list, "/home/me/work/list.txt");

    // No input at all: the loader's own error, placed at the inputs and saying what to give.
    OneLiner none;
    none.stages = {"resize max_side=8"};
    const ConfigError raw = error_of([&] { load_config_text(config_text(one_liner_config(none, kCwd)), "/x/j.yaml"); });
    const ConfigError told = one_liner_error(raw, none);
    EXPECT_EQ(told.mark().file, "inputs");
    EXPECT_EQ(told.key(), "input");
    EXPECT_NE(told.message().find("--files-from"), std::string::npos) << told.what();
}

TEST(OneLinerError, PlacesAConfigErrorAtTheOptionItCameFrom) {
    const OneLiner line = thumbnails();
    const auto place = [&](const std::string &key) {
        return one_liner_error(ConfigError(SourceMark{"/tmp/batchproc-do-x.yaml", 7, 3}, key, "is wrong"), line);
    };
    EXPECT_EQ(place("pipeline[1].save.quality").mark().file, "-p 'save format=webp quality=80'");
    EXPECT_EQ(place("pipeline[0].resize").mark().file, "-p 'resize max_side=1600'");
    EXPECT_EQ(place("input.paths[1]").mark().file, "input 'extra/a.jpg'");
    EXPECT_EQ(place("output.dir").mark().file, "-o/--output");
    EXPECT_EQ(place("output.name").mark().file, "--name");
    EXPECT_EQ(place("pool.workers").mark().file, "-w/--workers");
    EXPECT_EQ(place("pool.mode").mark().file, "--mode");
    EXPECT_EQ(place("report").mark().file, "--report");
    EXPECT_EQ(place("journal").mark().file, "--journal");
    EXPECT_EQ(place("plugins").mark().file, "--plugins");
    EXPECT_EQ(place("input.list").mark().file, "--files-from");
    const ConfigError e = place("pipeline[1].save.quality");
    EXPECT_EQ(e.mark().line, 0) << "no line of a file nobody wrote";
    EXPECT_EQ(std::string(e.what()), "-p 'save format=webp quality=80': pipeline[1].save.quality: is wrong");
}

TEST(OneLinerConfigFile, HoldsTheTextWhileItLives) {
    fs::path path;
    {
        const OneLinerConfigFile file("pipeline: []\n");
        path = file.path();
        EXPECT_TRUE(path.is_absolute());
        EXPECT_EQ(path.extension(), ".yaml");
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_EQ(text.str(), "pipeline: []\n");
    }
    EXPECT_FALSE(fs::exists(path));
}
