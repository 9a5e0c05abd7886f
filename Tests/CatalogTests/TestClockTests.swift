import Catalog
import TestSupport
import Testing

/// The shared test clock is what the run asked for: a malformed SWITCHBOARD_TEST_TODAY fails here
/// (the other suites then ran on the default day, which this failure reports).
@Suite struct TestClockTests {
    @Test func theRequestedTestDayIsValid() {
        #expect(TestClock.configurationProblem == nil, "\(TestClock.configurationProblem ?? "")")
        #expect(TestClock.now == TestClock.today.startOfDay.addingTimeInterval(12 * 3600))
    }
}
