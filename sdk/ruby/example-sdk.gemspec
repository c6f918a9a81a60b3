Gem::Specification.new do |s|
  s.name        = "example-sdk"
  s.version     = "0.1.0"
  s.summary     = "Ruby client of the Workspace API (standard library only)."
  s.authors     = ["Example"]
  s.license     = "MIT"
  s.files       = Dir.chdir(__dir__) { Dir["lib/**/*.rb"] }
  s.require_paths = ["lib"]
  s.required_ruby_version = ">= 2.7"
end
